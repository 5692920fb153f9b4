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
	"time"
)

const importHelp = `kinds and their CSV columns (lists inside a cell are separated by ';'):
  members   name,email[,organisation] into the CoP given by --cop (header line optional).
            The node checks every row and imports all or nothing; people are matched by
            e-mail and existing members are left alone. Nobody is joined without consent:
            everyone else is mailed an invitation and joins on accepting it and the CoP's
            Code of Practice.
  people    name,email[,organisation] (header line optional): registers each person; an
            e-mail already registered counts as unchanged.
  cops      header line required, columns in any order:
            name,region,scope,purpose,frequency,duration_minutes       (required)
            topics,host_organisations,format                            (optional lists)
            scope is local, regional or national; duration_minutes 1-1440; the region must
            exist. Each new CoP is proposed (approve it with the registry). A CoP with the
            same name in the same region counts as unchanged.
  projects  header line required, columns in any order:
            cop_id,title,topics,place,group,starts_on,ends_on           (required)
            organisation,methods                                        (optional)
            place is a place code such as au.vic.geelong, group the community asked
            (e.g. young people), dates YYYY-MM-DD. The CoP must be approved. A project of
            the same CoP with the same title counts as unchanged.
Every row is checked before anything is sent: if any row is bad, every bad row is listed
with its line and reason, nothing is imported and copctl exits 1. Running the same file
again changes nothing. A row the node refuses after the checks passed is reported with its
line (exit 1); the other rows are still imported.

flags:
  --cop ID        the CoP to import members into (members only)
  --progress      draw a progress bar on stderr (default: only on a terminal, for 20+ rows)
  --wait 30s      how long a project row waits for its CoP's approval to reach the
                  knowledge service`

var importKinds = []string{"cops", "people", "members", "projects"}

// ImportResult is what the membership import route answers (app.ImportResult): nobody is
// joined by an import; people who are not members yet are invited.
type ImportResult struct {
	Rows           int `json:"rows"`
	Invited        int `json:"invited"`
	AlreadyInvited int `json:"already_invited"`
	AlreadyMembers int `json:"already_members"`
}

// RosterRejected is a roster the node refused because of bad rows: nothing was imported.
type RosterRejected struct {
	File    string
	Lines   []int // the bad rows' line numbers, ascending
	Problem *Problem
}

func (e *RosterRejected) Error() string {
	return fmt.Sprintf("%s: %d bad row(s) (line %s), nothing was imported: %s",
		e.File, len(e.Lines), joinInts(e.Lines), e.Problem.Error())
}

func (e *RosterRejected) Unwrap() error { return e.Problem }

var lineField = regexp.MustCompile(`^line (\d+)`)

func cmdImport(ctx context.Context, c *Client, args []string, out io.Writer) error {
	fs := flags("import")
	cop := fs.String("cop", "", "the CoP to import members into (members only)")
	progress := fs.Bool("progress", false, "draw a progress bar on stderr even when it is not a terminal")
	wait := fs.Duration("wait", 30*time.Second, "how long a project row waits for its CoP's approval to reach the knowledge service")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want a kind (%s) and a CSV file", strings.Join(importKinds, ", "))
	}
	kind := pos[0]
	known := false
	for _, k := range importKinds {
		known = known || k == kind
	}
	if !known {
		return usagef("unknown kind %q; want one of %s", kind, strings.Join(importKinds, ", "))
	}
	if len(pos) != 2 {
		return usagef("want exactly one CSV file after %q", kind)
	}
	if kind == "members" && *cop == "" {
		return usagef("--cop is required for members")
	}
	if kind != "members" && *cop != "" {
		return usagef("--cop is only for members")
	}
	file := pos[1]
	if kind == "members" {
		return importMembers(ctx, c, *cop, file, out)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	im := &importer{c: c, out: out, file: file, kind: kind, wait: *wait,
		progress: c.Stderr != nil && (*progress || c.StderrTTY), forced: *progress}
	var rows []importRow
	var problems []rowProblem
	switch kind {
	case "people":
		rows, problems = im.peopleRows(raw)
	case "cops":
		rows, problems, err = im.copRows(ctx, raw)
	case "projects":
		rows, problems, err = im.projectRows(ctx, raw)
	}
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return &RowsRejected{File: file, Kind: kind, Problems: problems}
	}
	if len(rows) == 0 {
		return &RowsRejected{File: file, Kind: kind, Problems: []rowProblem{{Line: 1, Reason: "the file has no rows to import"}}}
	}
	return im.run(ctx, rows)
}

// importMembers sends a CSV roster to POST /v1/cops/{id}/members:import. The node checks
// every row before importing any, matches people by e-mail, leaves members alone and invites
// the others (each joins on accepting), so running the same file again invites nobody twice.
func importMembers(ctx context.Context, c *Client, cop, file string, out io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var res ImportResult
	err = c.Do(ctx, "POST", "/v1/cops/"+url.PathEscape(cop)+"/members:import", "text/csv", f, &res)
	if err != nil {
		return rosterError(file, err)
	}
	fmt.Fprintf(out, "%s → CoP %s: %d row(s): %d person(s) invited, %d invited already, %d already member(s)\n",
		file, cop, res.Rows, res.Invited, res.AlreadyInvited, res.AlreadyMembers)
	if res.Invited == 0 {
		fmt.Fprintln(out, "nobody new was invited: every row is a member or has an open invitation")
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

// rowProblem is one thing wrong with one row of a CSV file.
type rowProblem struct {
	Line   int
	Field  string
	Reason string
}

// RowsRejected is a CSV file with bad rows, found before anything was imported.
type RowsRejected struct {
	File, Kind string
	Problems   []rowProblem
}

// Lines are the bad rows' line numbers, ascending.
func (e *RowsRejected) Lines() []int {
	var lines []int
	for _, p := range e.Problems {
		if len(lines) == 0 || lines[len(lines)-1] != p.Line {
			lines = append(lines, p.Line)
		}
	}
	return lines
}

func (e *RowsRejected) Error() string {
	lines := e.Lines()
	return fmt.Sprintf("%s: %d bad row(s) (line %s), nothing was imported", e.File, len(lines), joinInts(lines))
}

// Format is the refusal as copctl prints it: the summary, then each problem on its own
// line, "  - line N: field: reason".
func (e *RowsRejected) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "copctl: %s\n", e.Error())
	for _, p := range e.Problems {
		if p.Field == "" {
			fmt.Fprintf(&b, "  - line %d: %s\n", p.Line, p.Reason)
		} else {
			fmt.Fprintf(&b, "  - line %d: %s: %s\n", p.Line, p.Field, p.Reason)
		}
	}
	return b.String()
}

// ImportFailed is an import in which the node refused some rows that passed the checks.
type ImportFailed struct {
	File            string
	Refused, Rows   int
	Created, Intact int
}

func (e *ImportFailed) Error() string {
	return fmt.Sprintf("%s: the node refused %d of %d row(s) (reported above); %d created, %d unchanged; fix them and run the same file again",
		e.File, e.Refused, e.Rows, e.Created, e.Intact)
}

// importRow is one checked row: what to call it, whether it is already there, and how to
// create it.
type importRow struct {
	Line   int
	What   string
	Exists bool
	Create func(ctx context.Context) (string, error) // returns what was created (an id)
}

type importer struct {
	c                *Client
	out              io.Writer
	file, kind       string
	wait             time.Duration
	progress, forced bool
}

// run creates every row that is not there yet and reports the outcome.
func (im *importer) run(ctx context.Context, rows []importRow) error {
	var bar *progressBar
	if im.progress && (im.forced || len(rows) >= 20) {
		bar = newProgressBar(im.c.Stderr, "importing "+im.kind, len(rows))
	}
	created, intact, refused := 0, 0, 0
	for _, r := range rows {
		if r.Exists {
			intact++
			bar.step()
			continue
		}
		id, err := r.Create(ctx)
		bar.step()
		if errors.Is(err, errUnchanged) {
			intact++
			continue
		}
		if err != nil {
			if s := StatusOf(err); s == 0 || s == 401 || s == 403 {
				// Unreachable or not allowed: every other row would fail the same way.
				bar.done()
				if created > 0 {
					fmt.Fprintf(im.out, "%s: stopped at line %d after %d created; run the same file again once fixed\n", im.file, r.Line, created)
				}
				return fmt.Errorf("line %d (%s): %w", r.Line, r.What, err)
			}
			refused++
			bar.clear()
			fmt.Fprintf(im.out, "line %d: %s: refused: %s\n", r.Line, r.What, oneLine(err.Error()))
			var p *Problem
			if errors.As(err, &p) {
				for _, f := range p.Errors {
					fmt.Fprintf(im.out, "  - %s: %s\n", f.Field, f.Message)
				}
			}
			continue
		}
		created++
		if id != "" {
			bar.clear()
			fmt.Fprintf(im.out, "line %d: %s: created %s\n", r.Line, r.What, id)
		}
	}
	bar.done()
	fmt.Fprintf(im.out, "%s: %d row(s) of %s: %d created, %d unchanged", im.file, len(rows), im.kind, created, intact)
	if refused > 0 {
		fmt.Fprintf(im.out, ", %d refused\n", refused)
		return &ImportFailed{File: im.file, Refused: refused, Rows: len(rows), Created: created, Intact: intact}
	}
	fmt.Fprintln(im.out)
	if created == 0 {
		fmt.Fprintln(im.out, "nothing changed: every row was already there")
	}
	return nil
}

// errUnchanged is a Create that found its row already there.
var errUnchanged = errors.New("already there")

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// progressBar draws "label [#####-----] 12/40" on one terminal line. A nil bar draws nothing.
type progressBar struct {
	w           io.Writer
	label       string
	total, n    int
	last        time.Time
	drawn, over bool
}

func newProgressBar(w io.Writer, label string, total int) *progressBar {
	b := &progressBar{w: w, label: label, total: total}
	b.draw()
	return b
}

func (b *progressBar) step() {
	if b == nil {
		return
	}
	b.n++
	if b.n == b.total || time.Since(b.last) >= 100*time.Millisecond {
		b.draw()
	}
}

func (b *progressBar) draw() {
	const width = 30
	filled := width
	if b.total > 0 {
		filled = width * b.n / b.total
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %d/%d", b.label, strings.Repeat("#", filled), strings.Repeat("-", width-filled), b.n, b.total)
	b.last, b.drawn = time.Now(), true
}

// clear ends the bar's line before other output; the next step draws it again.
func (b *progressBar) clear() {
	if b == nil || !b.drawn {
		return
	}
	fmt.Fprintln(b.w)
	b.drawn = false
}

func (b *progressBar) done() {
	if b == nil || b.over {
		return
	}
	b.over = true
	b.draw()
	fmt.Fprintln(b.w)
}
