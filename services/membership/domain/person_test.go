package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/apperr"
)

func TestParseRosterAcceptsAHeaderAndOptionalOrganisation(t *testing.T) {
	rows, err := ParseRoster(strings.NewReader("name,email,organisation\nAroha Smith, aroha@example.org, Te Whatu Ora\nBen Li,ben@example.org\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Line != 2 || rows[0].Email != "aroha@example.org" || rows[0].Organisation != "Te Whatu Ora" || rows[1].Organisation != "" {
		t.Errorf("rows = %+v", rows)
	}
}

func TestParseRosterListsEveryBadRowByLine(t *testing.T) {
	_, err := ParseRoster(strings.NewReader("Ana,ana@example.org\n,nobody@example.org\nCarl,not-an-email\nAna Again,ANA@example.org\nToo,many,columns,here\n"))
	var e *apperr.Error
	if !errors.As(err, &e) || e.Kind != apperr.KindUnprocessable {
		t.Fatalf("err = %v, want unprocessable", err)
	}
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	want := []string{"line 2: name", "line 3: email", "line 4: email", "line 5"}
	if !slices.Equal(fields, want) {
		t.Errorf("fields = %v, want %v", fields, want)
	}
}

func TestParseRosterRefusesAnEmptyFile(t *testing.T) {
	if _, err := ParseRoster(strings.NewReader("name,email\n")); err == nil {
		t.Error("an empty roster was accepted")
	}
}

func TestParseRosterReportsBrokenCSV(t *testing.T) {
	_, err := ParseRoster(strings.NewReader("Ana,ana@example.org\n\"unterminated,x@example.org\n"))
	var e *apperr.Error
	if !errors.As(err, &e) || e.Kind != apperr.KindUnprocessable || len(e.Fields) != 1 || e.Fields[0].Field != "line 2" {
		t.Errorf("err = %#v, want one problem on line 2", err)
	}
}

// TestValidEmailIsWhatMailCanReach: an address must parse, carry no display name or white
// space, fit in 254 characters, and name a domain with a dot ("a@b" reaches nobody).
func TestValidEmailIsWhatMailCanReach(t *testing.T) {
	for _, ok := range []string{"a@example.org", "Aroha.Smith+cop@mail.example.co.nz", "x_y@sub-domain.example.org"} {
		if !ValidEmail(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "a@b", "a@localhost", "a@b.", "a@.org", "a@example..org", "a b@example.org",
		`"a b"@example.org`, "a@example.org ", "Ana <a@example.org>", "a@[127.0.0.1]", "a@-x.org", "no-at.example.org",
		"a@" + strings.Repeat("x", 250) + ".org"} {
		if ValidEmail(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseRosterAppliesTheSameEmailRule(t *testing.T) {
	_, err := ParseRoster(strings.NewReader("name,email\nAna,a@b\n"))
	var e *apperr.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "line 2: email" {
		t.Errorf("err = %v, want line 2: email", err)
	}
}

// FuzzParseRoster: whatever a hub uploads, the parser returns rows or a 4xx problem naming
// lines, never panics, and every row it returns passes the same checks as a registration.
func FuzzParseRoster(f *testing.F) {
	for _, seed := range []string{
		"name,email,organisation\nAroha Smith,aroha@example.org,Te Whatu Ora\n",
		"Ana,ana@example.org\nAna Again,ANA@example.org\n",
		"Ana,a@b\n",
		"\"unterminated,x@example.org\n",
		"a,b,c,d\n",
		"name,email\n",
		"\xff\xfe,\x00@example.org\n",
		"\"multi\nline\",m@example.org\n",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rows, err := ParseRoster(strings.NewReader(body))
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || (e.Kind != apperr.KindUnprocessable && e.Kind != apperr.KindInvalid) {
				t.Fatalf("err = %#v, want a 4xx problem", err)
			}
			return
		}
		if len(rows) == 0 || len(rows) > MaxRosterRows {
			t.Fatalf("%d rows accepted", len(rows))
		}
		for _, r := range rows {
			if p := r.Person.Problems(""); len(p) > 0 {
				t.Fatalf("row %+v accepted with problems %v", r, p)
			}
		}
	})
}
