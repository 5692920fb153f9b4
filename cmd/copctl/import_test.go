package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
)

// Line 1 is the header; lines 3, 5 and 7 are bad: no name, no valid e-mail, and an e-mail
// that repeats line 2's (ignoring case).
const badRoster = `name,email,organisation
Aroha Smith,aroha@example.org,Te Whatu Ora
,nobody@example.org,Nowhere
Ben Li,ben@example.org,
Carl Jones,not-an-email,Council
Dana Lee,dana@example.org,Council
Aroha Again,AROHA@example.org,Te Whatu Ora
Eli Brown,eli@example.org,LPHU
`

const fixedRoster = `name,email,organisation
Aroha Smith,aroha@example.org,Te Whatu Ora
Nobody Known,nobody@example.org,Nowhere
Ben Li,ben@example.org,
Carl Jones,carl@example.org,Council
Dana Lee,dana@example.org,Council
Ari Again,ari@example.org,Te Whatu Ora
Eli Brown,eli@example.org,LPHU
`

func TestImportReportsExactlyTheBadRowsThenImportsTheFixedFileOnce(t *testing.T) {
	e := start(t, registry.Factory, membership.Factory)
	cop := e.approvedCoP("vic", "Youth mental health")
	bad := writeFile(t, "bad.csv", badRoster)
	fixed := writeFile(t, "fixed.csv", fixedRoster)

	// The approval and charter reach membership as events; until then the import is
	// refused for the CoP, after that for the rows.
	var rejected *RosterRejected
	testkit.Eventually(t, waitFor, func() error {
		_, err := e.call(e.national(), cmdImport, "members", "--cop", cop, bad)
		if !errors.As(err, &rejected) {
			return fmt.Errorf("import of the bad file: %v", err)
		}
		return nil
	})
	if !slices.Equal(rejected.Lines, []int{3, 5, 7}) {
		t.Errorf("bad lines = %v, want [3 5 7]", rejected.Lines)
	}
	if n := e.memberCount(cop); n != 0 {
		t.Fatalf("%d members after a refused import, want 0", n)
	}

	// The whole command line: exit 1, and stderr names exactly those three rows.
	code, stdout, stderr := e.cli(e.national(), "import", "members", "--cop", cop, bad)
	if code != exitFail || stdout != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout)
	}
	if !strings.Contains(stderr, "3 bad row(s) (line 3, 5, 7), nothing was imported") ||
		!strings.Contains(stderr, "422 Unprocessable Entity: ") {
		t.Errorf("stderr does not summarise the refusal:\n%s", stderr)
	}
	rowLine := regexp.MustCompile(`(?m)^  - line (\d+): (\w+): .+$`)
	var reported []string
	for _, m := range rowLine.FindAllStringSubmatch(stderr, -1) {
		reported = append(reported, m[1]+" "+m[2])
	}
	if want := []string{"3 name", "5 email", "7 email"}; !slices.Equal(reported, want) {
		t.Errorf("rows reported = %q, want %q\n%s", reported, want, stderr)
	}
	if n := e.memberCount(cop); n != 0 {
		t.Fatalf("%d members after a refused import, want 0", n)
	}

	out, err := e.call(e.national(), cmdImport, "members", fixed, "--cop", cop)
	if err != nil {
		t.Fatalf("import fixed file: %v", err)
	}
	if !strings.Contains(out, "7 row(s): 7 person(s) invited, 0 invited already, 0 already member(s)") {
		t.Errorf("first import said %q", out)
	}
	// Nobody is joined without consent: the seven are invited, and join when they accept.
	if n := e.memberCount(cop); n != 0 {
		t.Errorf("%d members after importing 7 rows, want 0 until they accept", n)
	}

	code, stdout, stderr = e.cli(e.national(), "import", "members", "--cop", cop, fixed)
	if code != exitOK || stderr != "" {
		t.Fatalf("second import: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "0 person(s) invited, 7 invited already, 0 already member(s)") || !strings.Contains(stdout, "nobody new was invited") {
		t.Errorf("second import said %q", stdout)
	}
	if n := e.memberCount(cop); n != 0 {
		t.Errorf("%d members after importing the same file again, want 0", n)
	}
}

func TestImportCommandLine(t *testing.T) {
	e := start(t, registry.Factory, membership.Factory)
	for _, args := range [][]string{
		{"import", "members", "roster.csv"},                    // no --cop
		{"import", "members", "--cop", "c1"},                   // no file
		{"import", "members", "--cop", "c1", "a.csv", "b.csv"}, // two files
		{"import", "members", "--nope", "a.csv"},
		{"import", "--cop", "c1", "a.csv"}, // no kind
	} {
		if code, _, stderr := e.cli(e.national(), args...); code != exitUsage || !strings.Contains(stderr, "usage: copctl import cops|people|members|projects") {
			t.Errorf("%q → exit %d, stderr %q; want 2 with usage", args, code, stderr)
		}
	}
	if code, _, stderr := e.cli(e.national(), "import", "members", "--cop", "c1", "/does/not/exist.csv"); code != exitFail || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file → exit %d, %q", code, stderr)
	}
	// A hub may not import into another region's CoP: the problem comes back as is.
	cop := e.approvedCoP("wa", "Consumers")
	f := writeFile(t, "r.csv", "Ana,ana@example.org\n")
	testkit.Eventually(t, waitFor, func() error {
		code, _, stderr := e.cli(e.hub("vic"), "import", "members", "--cop", cop, f)
		if code != exitFail || !strings.HasPrefix(stderr, "403 Forbidden: ") {
			return fmt.Errorf("hub of vic → exit %d, %q", code, stderr)
		}
		return nil
	})
	if n := e.memberCount(cop); n != 0 {
		t.Errorf("%d members after a refused import", n)
	}
}
