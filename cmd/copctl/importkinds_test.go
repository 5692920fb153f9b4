package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/services/knowledge"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
)

// importCase is the acceptance of one import kind: a file with exactly three bad rows is
// refused whole, naming those rows; the fixed file imports every row; a second run of the
// fixed file changes nothing.
type importCase struct {
	kind       string
	bad, fixed string
	badLines   []int
	badFields  []string // "line field" of each reported problem
	count      func() int
}

func (e *env) checkImport(tc importCase) {
	t := e.t
	t.Helper()
	bad := writeFile(t, tc.kind+"-bad.csv", tc.bad)
	fixed := writeFile(t, tc.kind+"-fixed.csv", tc.fixed)
	before := tc.count()

	_, err := e.call(e.national(), cmdImport, tc.kind, bad)
	var rejected *RowsRejected
	if !errors.As(err, &rejected) {
		t.Fatalf("import %s of the bad file: %v, want the bad rows", tc.kind, err)
	}
	if !slices.Equal(rejected.Lines(), tc.badLines) {
		t.Errorf("%s: bad lines = %v, want %v\n%s", tc.kind, rejected.Lines(), tc.badLines, rejected.Format())
	}
	if n := tc.count(); n != before {
		t.Fatalf("%s: %d after a refused import, want %d", tc.kind, n, before)
	}

	// The whole command line: exit 1, nothing on stdout, every bad row on stderr.
	code, stdout, stderr := e.cli(e.national(), "import", tc.kind, bad)
	if code != exitFail || stdout != "" {
		t.Errorf("%s: exit %d, stdout %q; want 1 and nothing", tc.kind, code, stdout)
	}
	summary := fmt.Sprintf("copctl: %s: 3 bad row(s) (line %s), nothing was imported\n", bad, joinInts(tc.badLines))
	if !strings.HasPrefix(stderr, summary) {
		t.Errorf("%s: stderr does not start with %q:\n%s", tc.kind, summary, stderr)
	}
	var reported []string
	for _, m := range regexp.MustCompile(`(?m)^  - line (\d+): (\w+): .+$`).FindAllStringSubmatch(stderr, -1) {
		reported = append(reported, m[1]+" "+m[2])
	}
	if !slices.Equal(reported, tc.badFields) {
		t.Errorf("%s: rows reported = %q, want %q\n%s", tc.kind, reported, tc.badFields, stderr)
	}
	if n := tc.count(); n != before {
		t.Fatalf("%s: %d after a refused import, want %d", tc.kind, n, before)
	}

	rows := strings.Count(strings.TrimSpace(tc.fixed), "\n") // lines after the header
	out, err := e.call(e.national(), cmdImport, tc.kind, fixed)
	if err != nil {
		t.Fatalf("%s: import of the fixed file: %v\n%s", tc.kind, err, out)
	}
	if want := fmt.Sprintf("%d row(s) of %s: %d created, 0 unchanged\n", rows, tc.kind, rows); !strings.Contains(out, want) {
		t.Errorf("%s: first import said %q, want %q", tc.kind, out, want)
	}
	if n := tc.count(); n != before+rows {
		t.Errorf("%s: %d after importing %d rows, want %d", tc.kind, n, rows, before+rows)
	}

	code, stdout, stderr = e.cli(e.national(), "import", tc.kind, fixed)
	if code != exitOK || stderr != "" {
		t.Fatalf("%s: second import: exit %d, stderr %q", tc.kind, code, stderr)
	}
	if want := fmt.Sprintf("%d row(s) of %s: 0 created, %d unchanged\nnothing changed", rows, tc.kind, rows); !strings.Contains(stdout, want) {
		t.Errorf("%s: second import said %q, want %q", tc.kind, stdout, want)
	}
	if n := tc.count(); n != before+rows {
		t.Errorf("%s: %d after importing the same file again, want %d", tc.kind, n, before+rows)
	}
}

func TestImportPeopleCoPsAndProjects(t *testing.T) {
	e := start(t, registry.Factory, membership.Factory, knowledge.Factory)
	vic := e.approvedCoP("vic", "Health promotion")
	wa := e.approvedCoP("wa", "Community organisations")

	t.Run("people", func(t *testing.T) {
		e := &env{t: t, n: e.n}
		e.checkImport(importCase{kind: "people",
			// Lines 3, 5 and 7: no name, not an e-mail, an e-mail repeating line 2's.
			bad: `name,email,organisation
Aroha Smith,aroha@example.org,Barwon South West LPHU
,nobody@example.org,Nowhere
Ben Li,ben@example.org,
Carl Jones,not-an-email,Council
Dana Lee,dana@example.org,Council
Aroha Again,AROHA@example.org,LPHU
`,
			fixed: `name,email,organisation
Aroha Smith,aroha@example.org,Barwon South West LPHU
Nobody Known,nobody@example.org,Nowhere
Ben Li,ben@example.org,
Carl Jones,carl@example.org,Council
Dana Lee,dana@example.org,Council
Ari Again,ari@example.org,LPHU
`,
			badLines: []int{3, 5, 7}, badFields: []string{"3 name", "5 email", "7 email"},
			count: func() int {
				var n int
				if err := e.n.Pool("membership").QueryRow(context.Background(), "SELECT count(*) FROM people").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}})
	})

	t.Run("cops", func(t *testing.T) {
		e := &env{t: t, n: e.n}
		count := func() int {
			var res struct {
				CoPs []CoP `json:"cops"`
			}
			e.must(http.StatusOK, &res, "GET", "/v1/cops?limit=500", e.national(), nil)
			return len(res.CoPs)
		}
		header := "name,region,scope,purpose,topics,host_organisations,frequency,duration_minutes,format\n"
		e.checkImport(importCase{kind: "cops",
			// Lines 3, 4 and 5: a scope that is none, minutes that are not a number, a
			// region the node does not have.
			bad: header + `Youth mental health,vic,regional,Share youth mental health practice,youth mental health;prevention,LPHU A;LPHU B,monthly,90,share;discuss;apply
Council engagement,vic,internal,Council staff learn from each other,community engagement,City of Greater Geelong,bi-monthly,60,share;discuss
Volunteering network,wa,regional,Volunteer coordinators,volunteering,,monthly,sixty,share
"Landcare, South",nsw,local,Landcare groups,environment,,monthly,120,
Consumer engagement,wa,regional,"Consumers shape services, with a working group",consumer engagement,WA Health Consumers' Council,monthly,60,share;discuss
`,
			fixed: header + `Youth mental health,vic,regional,Share youth mental health practice,youth mental health;prevention,LPHU A;LPHU B,monthly,90,share;discuss;apply
Council engagement,vic,local,Council staff learn from each other,community engagement,City of Greater Geelong,bi-monthly,60,share;discuss
Volunteering network,wa,regional,Volunteer coordinators,volunteering,,monthly,60,share
"Landcare, South",wa,local,Landcare groups,environment,,monthly,120,
Consumer engagement,wa,regional,"Consumers shape services, with a working group",consumer engagement,WA Health Consumers' Council,monthly,60,share;discuss
`,
			badLines: []int{3, 4, 5}, badFields: []string{"3 scope", "4 duration_minutes", "5 region"},
			count: count})
		// What was imported is what the file said.
		var res struct {
			CoPs []struct {
				Name    string   `json:"name"`
				Status  string   `json:"status"`
				Topics  []string `json:"topics"`
				Hosts   []string `json:"host_organisations"`
				Meeting struct {
					Duration int      `json:"duration_minutes"`
					Format   []string `json:"format"`
				} `json:"meeting"`
			} `json:"cops"`
		}
		e.must(http.StatusOK, &res, "GET", "/v1/cops?region=vic", e.national(), nil)
		i := slices.IndexFunc(res.CoPs, func(c struct {
			Name    string   `json:"name"`
			Status  string   `json:"status"`
			Topics  []string `json:"topics"`
			Hosts   []string `json:"host_organisations"`
			Meeting struct {
				Duration int      `json:"duration_minutes"`
				Format   []string `json:"format"`
			} `json:"meeting"`
		}) bool {
			return c.Name == "Youth mental health"
		})
		if i < 0 {
			t.Fatalf("no imported CoP in vic: %+v", res.CoPs)
		}
		got := res.CoPs[i]
		if got.Status != "proposed" || !slices.Equal(got.Topics, []string{"youth mental health", "prevention"}) ||
			!slices.Equal(got.Hosts, []string{"LPHU A", "LPHU B"}) || got.Meeting.Duration != 90 ||
			!slices.Equal(got.Meeting.Format, []string{"share", "discuss", "apply"}) {
			t.Errorf("imported CoP = %+v", got)
		}
		// A hub may only import its own region's CoPs: the other region's rows are bad rows.
		f := writeFile(t, "hub.csv", header+"Vic one,vic,local,p,,,monthly,60,\nWA one,wa,local,p,,,monthly,60,\n")
		code, _, stderr := e.cli(e.hub("vic"), "import", "cops", f)
		if code != exitFail || !strings.Contains(stderr, "1 bad row(s) (line 3), nothing was imported") || !strings.Contains(stderr, "line 3: region: 403 Forbidden") {
			t.Errorf("hub of vic importing a wa CoP → exit %d\n%s", code, stderr)
		}
		// A header that is not the columns is refused before any row.
		f = writeFile(t, "header.csv", "name,region,colour\nA,vic,red\n")
		if code, _, stderr := e.cli(e.national(), "import", "cops", f); code != exitFail ||
			!strings.Contains(stderr, "line 1: colour: is not a column") || !strings.Contains(stderr, "line 1: scope: column is missing") {
			t.Errorf("bad header → exit %d\n%s", code, stderr)
		}
	})

	t.Run("projects", func(t *testing.T) {
		e := &env{t: t, n: e.n}
		count := func() int {
			var res struct {
				Projects []object `json:"projects"`
			}
			e.must(http.StatusOK, &res, "GET", "/v1/projects", e.national(), nil)
			return len(res.Projects)
		}
		header := "cop_id,title,organisation,topics,place,group,starts_on,ends_on,methods\n"
		e.checkImport(importCase{kind: "projects",
			// Lines 3, 4 and 5: not a place code, an end before the start, no such CoP.
			bad: header + vic + `,Youth listening tour,Barwon South West LPHU,youth mental health,au.vic.geelong,young people,2026-03-01,2026-05-31,survey;focus groups
` + vic + `,Youth strategy consultation,City of Greater Geelong,youth mental health,Geelong!,young people,2026-03-01,2026-04-30,survey
` + wa + `,Volunteer pathways survey,Perth Community Hub,volunteering,au.wa.perth,volunteers,2026-06-01,2026-03-01,survey
nosuchcop,Ghost project,Nobody,volunteering,au.wa,volunteers,2026-01-01,2026-02-01,
` + wa + `,Consumer voices,WA Health Consumers' Council,volunteering;consumer engagement,au.wa.bunbury,health consumers,2026-02-01,2026-04-30,interviews
`,
			fixed: header + vic + `,Youth listening tour,Barwon South West LPHU,youth mental health,au.vic.geelong,young people,2026-03-01,2026-05-31,survey;focus groups
` + vic + `,Youth strategy consultation,City of Greater Geelong,youth mental health,au.vic.geelong,young people,2026-03-01,2026-04-30,survey
` + wa + `,Volunteer pathways survey,Perth Community Hub,volunteering,au.wa.perth,volunteers,2026-03-01,2026-06-01,survey
` + wa + `,Ghost project,Nobody,volunteering,au.wa,volunteers,2026-01-01,2026-02-01,
` + wa + `,Consumer voices,WA Health Consumers' Council,volunteering;consumer engagement,au.wa.bunbury,health consumers,2026-02-01,2026-04-30,interviews
`,
			badLines: []int{3, 4, 5}, badFields: []string{"3 place", "4 ends_on", "5 cop_id"},
			count: count})
	})

	t.Run("progress", func(t *testing.T) {
		e := &env{t: t, n: e.n}
		f := writeFile(t, "p.csv", "Zed One,zed1@example.org\nZed Two,zed2@example.org\n")
		code, stdout, stderr := e.cli(e.national(), "import", "people", "--progress", f)
		if code != exitOK || !strings.Contains(stdout, "2 created") || !strings.Contains(stderr, "importing people [") || !strings.Contains(stderr, "] 2/2\n") {
			t.Errorf("--progress → exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
		}
		// Without --progress and without a terminal, stderr stays clean.
		f = writeFile(t, "q.csv", "Zed Three,zed3@example.org\n")
		if code, _, stderr := e.cli(e.national(), "import", "people", f); code != exitOK || stderr != "" {
			t.Errorf("no progress → exit %d, stderr %q", code, stderr)
		}
	})
}
