package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ImportResult is what the membership import route answers (app.ImportResult).
type ImportResult struct {
	Rows             int `json:"rows"`
	PeopleRegistered int `json:"people_registered"`
	MembersJoined    int `json:"members_joined"`
	Unchanged        int `json:"unchanged"`
}

// RosterRejected is a roster the node refused because of bad rows: nothing was imported.
type RosterRejected struct {
	File    string
	Lines   []int // the bad rows' line numbers, ascending
	Problem *Problem
}

func (e *RosterRejected) Error() string {
	lines := make([]string, len(e.Lines))
	for i, l := range e.Lines {
		lines[i] = strconv.Itoa(l)
	}
	return fmt.Sprintf("%s: %d bad row(s) (line %s), nothing was imported: %s",
		e.File, len(e.Lines), strings.Join(lines, ", "), e.Problem.Error())
}

func (e *RosterRejected) Unwrap() error { return e.Problem }

var lineField = regexp.MustCompile(`^line (\d+)`)

// cmdImport sends a CSV roster to POST /v1/cops/{id}/members:import. The node checks every
// row before importing any, matches people by e-mail, and leaves members alone, so running
// the same file again changes nothing.
func cmdImport(ctx context.Context, c *Client, args []string, out io.Writer) error {
	fs := flags("import")
	cop := fs.String("cop", "", "the CoP to import into (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *cop == "" {
		return usagef("--cop is required")
	}
	if len(pos) != 1 {
		return usagef("want exactly one CSV file (columns name, email, organisation)")
	}
	file := pos[0]
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var res ImportResult
	err = c.Do(ctx, "POST", "/v1/cops/"+url.PathEscape(*cop)+"/members:import", "text/csv", f, &res)
	if err != nil {
		return rosterError(file, err)
	}
	fmt.Fprintf(out, "%s → CoP %s: %d row(s): %d person(s) registered, %d member(s) joined, %d unchanged\n",
		file, *cop, res.Rows, res.PeopleRegistered, res.MembersJoined, res.Unchanged)
	if res.PeopleRegistered == 0 && res.MembersJoined == 0 {
		fmt.Fprintln(out, "nothing changed: every row was already a member")
	}
	return nil
}

// rosterError turns a 422 naming lines of the file into a RosterRejected.
func rosterError(file string, err error) error {
	var p *Problem
	if !errors.As(err, &p) || p.Status != 422 {
		return err
	}
	seen := map[int]bool{}
	var lines []int
	for _, f := range p.Errors {
		m := lineField.FindStringSubmatch(f.Field)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if !seen[n] {
			seen[n] = true
			lines = append(lines, n)
		}
	}
	if len(lines) == 0 {
		return err
	}
	sort.Ints(lines)
	return &RosterRejected{File: file, Lines: lines, Problem: p}
}
