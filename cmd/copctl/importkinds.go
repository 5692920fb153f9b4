package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	knowledge "github.com/copnet/copnet/services/knowledge/domain"
	membership "github.com/copnet/copnet/services/membership/domain"
	registry "github.com/copnet/copnet/services/registry/domain"
)

// record is one data row of a CSV file with a header: its line and its cells by column.
type record struct {
	Line  int
	Cells map[string]string
}

// readTable reads a CSV file whose first line names its columns (any order). Missing
// required columns or unknown ones are problems of line 1; a row with the wrong number of
// cells is a problem of its line.
func readTable(raw []byte, required, optional []string) ([]record, []rowProblem) {
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, []rowProblem{{Line: 1, Reason: "the file is empty; want a header line: " + strings.Join(required, ",")}}
	}
	if err != nil {
		return nil, []rowProblem{csvProblem(err)}
	}
	var problems []rowProblem
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		cols[i] = h
		switch {
		case seen[h]:
			problems = append(problems, rowProblem{Line: 1, Field: h, Reason: "is a repeated column"})
		case !slices.Contains(required, h) && !slices.Contains(optional, h):
			problems = append(problems, rowProblem{Line: 1, Field: h, Reason: fmt.Sprintf("is not a column; want %s and optionally %s",
				strings.Join(required, ","), strings.Join(optional, ","))})
		}
		seen[h] = true
	}
	for _, r := range required {
		if !seen[r] {
			problems = append(problems, rowProblem{Line: 1, Field: r, Reason: "column is missing from the header line"})
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	var rows []record
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			problems = append(problems, csvProblem(err))
			break // the reader cannot resynchronise after a broken quote
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			problems = append(problems, rowProblem{Line: line, Reason: fmt.Sprintf("has %d cells; the header has %d columns", len(rec), len(cols))})
			continue
		}
		r := record{Line: line, Cells: map[string]string{}}
		for i, v := range rec {
			r.Cells[cols[i]] = strings.TrimSpace(v)
		}
		rows = append(rows, r)
	}
	return rows, problems
}

func csvProblem(err error) rowProblem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return rowProblem{Line: pe.Line, Reason: "is not valid CSV: " + pe.Err.Error()}
	}
	return rowProblem{Line: 1, Reason: err.Error()}
}

// list splits a cell's ';'-separated list, dropping empty items.
func list(s string) []string {
	out := []string{}
	for part := range strings.SplitSeq(s, ";") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// rowChecker collects one row's problems, the first per field (as the services do).
type rowChecker struct {
	line     int
	problems []rowProblem
}

func (v *rowChecker) check(ok bool, field, reason string) {
	if ok || slices.ContainsFunc(v.problems, func(p rowProblem) bool { return p.Field == field }) {
		return
	}
	v.problems = append(v.problems, rowProblem{Line: v.line, Field: field, Reason: reason})
}

func sortProblems(ps []rowProblem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
}

// peopleRows checks a people file (name,email[,organisation], header optional) with the
// membership service's own rules; an e-mail repeated in the file (ignoring case) is bad.
func (im *importer) peopleRows(raw []byte) ([]importRow, []rowProblem) {
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var people []membership.Person
	var lines []int
	var problems []rowProblem
	seen := map[string]int{}
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			problems = append(problems, csvProblem(err))
			break
		}
		line, _ := cr.FieldPos(0)
		if first && len(rec) >= 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "name") && strings.EqualFold(strings.TrimSpace(rec[1]), "email") {
			first = false
			continue
		}
		first = false
		if len(rec) < 2 || len(rec) > 3 {
			problems = append(problems, rowProblem{Line: line, Reason: fmt.Sprintf("has %d columns; want name, email and optionally organisation", len(rec))})
			continue
		}
		p := membership.Person{Name: rec[0], Email: rec[1]}
		if len(rec) == 3 {
			p.Organisation = rec[2]
		}
		p = p.Normalise()
		bad := p.Problems("")
		key := strings.ToLower(p.Email)
		if at, dup := seen[key]; dup && len(bad) == 0 {
			problems = append(problems, rowProblem{Line: line, Field: "email", Reason: fmt.Sprintf("repeats line %d", at)})
			continue
		}
		for _, b := range bad {
			problems = append(problems, rowProblem{Line: line, Field: b.Field, Reason: b.Message})
		}
		if len(bad) == 0 {
			seen[key] = line
			people = append(people, p)
			lines = append(lines, line)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	rows := make([]importRow, len(people))
	for i, p := range people {
		body := map[string]string{"name": p.Name, "email": p.Email, "organisation": p.Organisation}
		rows[i] = importRow{Line: lines[i], What: "person " + p.Email, Create: func(ctx context.Context) (string, error) {
			var created struct {
				ID string `json:"id"`
			}
			err := im.c.JSON(ctx, "POST", "/v1/people", body, &created)
			if StatusOf(err) == 409 {
				return "", errUnchanged // the e-mail is registered already
			}
			return created.ID, err
		}}
	}
	return rows, nil
}

// copColumns are the columns of a cops file.
var (
	copRequired = []string{"name", "region", "scope", "purpose", "frequency", "duration_minutes"}
	copOptional = []string{"topics", "host_organisations", "format"}
)

// copRows checks a cops file with the registry's rules, then asks the node whether each
// row's region exists and which CoPs it already has (so a re-run changes nothing).
func (im *importer) copRows(ctx context.Context, raw []byte) ([]importRow, []rowProblem, error) {
	recs, problems := readTable(raw, copRequired, copOptional)
	type cop struct {
		line int
		body map[string]any
		name string
		reg  string
	}
	var cops []cop
	seen := map[[2]string]int{}
	for _, r := range recs {
		v := rowChecker{line: r.Line}
		c := r.Cells
		v.check(c["name"] != "" && len(c["name"]) <= 200, "name", "is required (at most 200 characters)")
		v.check(c["region"] != "", "region", "is required")
		v.check(slices.Contains(registry.Scopes, c["scope"]), "scope", "must be local, regional or national")
		v.check(c["purpose"] != "" && len(c["purpose"]) <= 4000, "purpose", "is required (at most 4000 characters)")
		topics, hosts, format := list(c["topics"]), list(c["host_organisations"]), list(c["format"])
		v.check(len(topics) <= 50, "topics", "has more than 50 topics")
		for _, t := range topics {
			v.check(len(t) <= 100, "topics", "must be names of at most 100 characters")
		}
		for _, h := range hosts {
			v.check(len(h) <= 200, "host_organisations", "must be names of at most 200 characters")
		}
		v.check(c["frequency"] != "", "frequency", "is required (e.g. monthly)")
		minutes, err := strconv.Atoi(c["duration_minutes"])
		v.check(err == nil && minutes > 0 && minutes <= 24*60, "duration_minutes", "must be a whole number between 1 and 1440")
		key := [2]string{c["region"], c["name"]}
		if at, dup := seen[key]; dup && len(v.problems) == 0 {
			v.check(false, "name", fmt.Sprintf("repeats line %d (same region and name)", at))
		}
		if len(v.problems) > 0 {
			problems = append(problems, v.problems...)
			continue
		}
		seen[key] = r.Line
		cops = append(cops, cop{line: r.Line, name: c["name"], reg: c["region"], body: map[string]any{
			"name": c["name"], "region": c["region"], "scope": c["scope"], "purpose": c["purpose"],
			"topics": topics, "host_organisations": hosts,
			"meeting": map[string]any{"frequency": c["frequency"], "duration_minutes": minutes, "format": format},
		}})
	}
	if len(recs) == 0 && len(problems) == 0 {
		return nil, nil, nil
	}
	// What only the node knows: the regions, and the CoPs already there.
	regions, err := listRegions(ctx, im.c)
	if err != nil {
		return nil, nil, err
	}
	existing := map[string][]CoP{}
	refused := map[string]error{}
	for _, c := range cops {
		if _, done := existing[c.reg]; done || refused[c.reg] != nil {
			continue
		}
		if !slices.ContainsFunc(regions, func(r Region) bool { return r.ID == c.reg }) {
			refused[c.reg] = fmt.Errorf("region %s does not exist", c.reg)
			continue
		}
		list, err := listCoPs(ctx, im.c, url.Values{"region": {c.reg}})
		if s := StatusOf(err); s == 401 || s == 403 {
			refused[c.reg] = err
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		existing[c.reg] = list
	}
	var rows []importRow
	for _, c := range cops {
		if err := refused[c.reg]; err != nil {
			problems = append(problems, rowProblem{Line: c.line, Field: "region", Reason: oneLine(err.Error())})
			continue
		}
		body := c.body
		rows = append(rows, importRow{
			Line: c.line, What: fmt.Sprintf("CoP %q (%s)", c.name, c.reg),
			Exists: slices.ContainsFunc(existing[c.reg], func(e CoP) bool { return e.Name == c.name }),
			Create: func(ctx context.Context) (string, error) {
				var created CoP
				err := im.c.JSON(ctx, "POST", "/v1/cops", body, &created)
				return created.ID, err
			},
		})
	}
	sortProblems(problems)
	return rows, problems, nil
}

var (
	projectRequired = []string{"cop_id", "title", "topics", "place", "group", "starts_on", "ends_on"}
	projectOptional = []string{"organisation", "methods"}
)

// projectRows checks a projects file with the knowledge service's rules, then asks the
// node whether each row's CoP is approved and which projects it already has.
func (im *importer) projectRows(ctx context.Context, raw []byte) ([]importRow, []rowProblem, error) {
	recs, problems := readTable(raw, projectRequired, projectOptional)
	type project struct {
		line       int
		cop, title string
		body       map[string]any
	}
	var projects []project
	seen := map[[2]string]int{}
	for _, r := range recs {
		v := rowChecker{line: r.Line}
		c := r.Cells
		v.check(c["cop_id"] != "" && len(c["cop_id"]) <= 64, "cop_id", "is required")
		v.check(c["title"] != "" && len(c["title"]) <= 200, "title", "is required (at most 200 characters)")
		v.check(len(c["organisation"]) <= 200, "organisation", "is at most 200 characters")
		topics, methods := list(c["topics"]), list(c["methods"])
		v.check(len(topics) > 0, "topics", "needs at least one topic")
		v.check(len(topics) <= 20, "topics", "has more than 20 topics")
		for _, t := range topics {
			n := knowledge.Normalise(t)
			v.check(n != "" && len(n) <= 100, "topics", "must be names of at most 100 characters")
		}
		v.check(knowledge.ValidPlace(c["place"]), "place", `must be a place code such as "au.vic.geelong"`)
		g := knowledge.Normalise(c["group"])
		v.check(g != "" && len(g) <= 200, "group", "is required (at most 200 characters)")
		from, errFrom := time.Parse(time.DateOnly, c["starts_on"])
		to, errTo := time.Parse(time.DateOnly, c["ends_on"])
		v.check(errFrom == nil, "starts_on", "must be a date (YYYY-MM-DD)")
		v.check(errTo == nil, "ends_on", "must be a date (YYYY-MM-DD)")
		v.check(errFrom != nil || errTo != nil || !to.Before(from), "ends_on", "must not be before starts_on")
		v.check(len(methods) <= 20, "methods", "has more than 20 methods")
		for _, m := range methods {
			v.check(len(m) <= 100, "methods", "must be names of at most 100 characters")
		}
		key := [2]string{c["cop_id"], c["title"]}
		if at, dup := seen[key]; dup && len(v.problems) == 0 {
			v.check(false, "title", fmt.Sprintf("repeats line %d (same CoP and title)", at))
		}
		if len(v.problems) > 0 {
			problems = append(problems, v.problems...)
			continue
		}
		seen[key] = r.Line
		projects = append(projects, project{line: r.Line, cop: c["cop_id"], title: c["title"], body: map[string]any{
			"cop_id": c["cop_id"], "title": c["title"], "organisation": c["organisation"], "topics": topics,
			"communities": []map[string]string{{"place": c["place"], "group": c["group"]}},
			"starts_on":   c["starts_on"], "ends_on": c["ends_on"], "methods": methods,
		}})
	}
	// What only the node knows: whether each CoP is approved, and its projects.
	existing := map[string][]projectTitle{}
	refused := map[string]error{}
	for _, p := range projects {
		if _, done := existing[p.cop]; done || refused[p.cop] != nil {
			continue
		}
		var cop CoP
		err := im.c.JSON(ctx, "GET", "/v1/cops/"+url.PathEscape(p.cop), nil, &cop)
		switch s := StatusOf(err); {
		case s == 404:
			refused[p.cop] = fmt.Errorf("there is no CoP %s", p.cop)
			continue
		case s == 401 || s == 403:
			refused[p.cop] = err
			continue
		case err != nil:
			return nil, nil, err
		case !slices.Contains([]string{"approved", "active", "dormant"}, cop.Status):
			refused[p.cop] = fmt.Errorf("CoP %s is %s; only an approved CoP's projects go on the map", p.cop, cop.Status)
			continue
		}
		var have struct {
			Projects []projectTitle `json:"projects"`
		}
		err = retry(ctx, im.wait, notYetKnown, func() error {
			return im.c.JSON(ctx, "GET", "/v1/projects?cop="+url.QueryEscape(p.cop), nil, &have)
		})
		if s := StatusOf(err); s >= 400 && s < 500 {
			refused[p.cop] = err
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		existing[p.cop] = have.Projects
	}
	var rows []importRow
	for _, p := range projects {
		if err := refused[p.cop]; err != nil {
			problems = append(problems, rowProblem{Line: p.line, Field: "cop_id", Reason: oneLine(err.Error())})
			continue
		}
		body := p.body
		rows = append(rows, importRow{
			Line: p.line, What: fmt.Sprintf("project %q (CoP %s)", p.title, p.cop),
			Exists: slices.ContainsFunc(existing[p.cop], func(h projectTitle) bool { return h.Title == p.title }),
			Create: func(ctx context.Context) (string, error) {
				var created struct {
					ID string `json:"id"`
				}
				// The CoP is approved in the registry; its approval may still be on its way
				// to the knowledge service.
				err := retry(ctx, im.wait, notYetKnown, func() error {
					return im.c.JSON(ctx, "POST", "/v1/projects", body, &created)
				})
				return created.ID, err
			},
		})
	}
	sortProblems(problems)
	return rows, problems, nil
}
