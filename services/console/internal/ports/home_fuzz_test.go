package ports

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// asInvalid fails unless err is a 400 naming only the given fields.
func asInvalid(t *testing.T, err error, fields ...string) {
	t.Helper()
	ae, ok := err.(*apperr.Error)
	if !ok || ae.Kind != apperr.KindInvalid {
		t.Fatalf("error %v is not a 400", err)
	}
	for _, f := range ae.Fields {
		if !strings.Contains(strings.Join(fields, " "), f.Field) {
			t.Fatalf("refusal names %q, want one of %v", f.Field, fields)
		}
	}
}

// checkReason holds what every accepted reason must be: trimmed text membership keeps.
func checkReason(t *testing.T, reason string) {
	t.Helper()
	if reason == "" || reason != strings.TrimSpace(reason) || !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > maxReason ||
		strings.ContainsFunc(reason, func(r rune) bool { return isControl(r) && r != '\n' && r != '\r' && r != '\t' }) {
		t.Fatalf("accepted the reason %q", reason)
	}
}

var governanceSeeds = []string{"person_id=p1&reason=harassment", "person_id=&reason=", "person_id=p%00&reason=x", "reason=%20%20",
	"person_id=p1&reason=" + strings.Repeat("a", 2001), "vote=remove", "vote=keep", "vote=maybe", "vote=remove&vote=keep", "%zz", "reason=a%0Ab%07"}

// FuzzRemovalForm: a removal proposal names a member and a reason, or is refused as a 400
// naming those fields.
func FuzzRemovalForm(f *testing.F) {
	for _, s := range governanceSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		got, err := parseRemovalForm(form)
		if err != nil {
			asInvalid(t, err, "person_id", "reason")
			return
		}
		if checkID("person_id", got.PersonID) != nil {
			t.Fatalf("accepted the person %q", got.PersonID)
		}
		checkReason(t, got.Reason)
	})
}

// FuzzAppointmentForm: a coordinator proposal names a member, or is refused as a 400.
func FuzzAppointmentForm(f *testing.F) {
	for _, s := range governanceSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		got, err := parseAppointmentForm(form)
		if err != nil {
			asInvalid(t, err, "person_id")
			return
		}
		if checkID("person_id", got.PersonID) != nil {
			t.Fatalf("accepted the person %q", got.PersonID)
		}
	})
}

// FuzzObjectionForm: an objection gives a reason, or is refused as a 400.
func FuzzObjectionForm(f *testing.F) {
	for _, s := range governanceSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		reason, err := parseObjectionForm(form)
		if err != nil {
			asInvalid(t, err, "reason")
			return
		}
		checkReason(t, reason)
	})
}

// FuzzVoteForm: a vote is to remove or to keep, nothing else.
func FuzzVoteForm(f *testing.F) {
	for _, s := range governanceSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		support, err := parseVoteForm(form)
		if err != nil {
			asInvalid(t, err, "vote")
			return
		}
		if want := form.Get("vote") == "remove"; support != want || (form.Get("vote") != "remove" && form.Get("vote") != "keep") {
			t.Fatalf("vote %q read as support %v", form.Get("vote"), support)
		}
	})
}

// TestZonedTimesReadAsPeopleSayThem: a session in Perth reads in AWST, not UTC.
func TestZonedTimesReadAsPeopleSayThem(t *testing.T) {
	z := zoneOf("Australia/Perth")
	start := time.Date(2027, 3, 9, 2, 0, 0, 0, time.UTC)
	if got := z.when(start, start.Add(90*time.Minute)); got != "Tue 9 Mar 2027, 10:00–11:30 AWST" {
		t.Errorf("got %q", got)
	}
	if got := zoneOf("Nowhere/Else").at(start); got != "Tue 9 Mar 2027, 02:00 UTC" {
		t.Errorf("an unknown zone: %q", got)
	}
}
