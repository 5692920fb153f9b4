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
