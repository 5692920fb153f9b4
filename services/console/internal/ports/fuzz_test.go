package ports

// Fuzz targets for what the console decodes from outside: path ids, the decision form, the
// query of the region page's notice, the session cookie's token, and the CSV cells it
// writes from other people's input. `make fuzz` finds them; as plain tests they run their
// seeds.

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/services/console/internal/projection"
)

func FuzzCheckID(f *testing.F) {
	for _, s := range []string{"north", "01J9Z8Q4V6", "", "a\x00b", "\xff", strings.Repeat("r", 201), "région", "a\tb", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := checkID("id", id)
		if err == nil {
			// What passes can go to PostgreSQL as text: valid UTF-8, no NUL, bounded.
			if !utf8.ValidString(id) || strings.ContainsRune(id, 0) || len(id) > maxID || id == "" {
				t.Fatalf("checkID accepted %q", id)
			}
			return
		}
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid || len(ae.Fields) != 1 || ae.Fields[0].Field != "id" {
			t.Fatalf("checkID(%q) = %v, want an invalid-input error naming id", id, err)
		}
	})
}

func FuzzDecisionForm(f *testing.F) {
	for _, body := range []string{"decision=approve", "decision=decline&reason=merged+with+another+CoP", "decision=delete",
		"decision=decline&reason=%00", "decision=approve&decision=decline", "reason=" + strings.Repeat("x", 2001),
		"decision=%ff", "%zz", "decision=decline&reason=%E2%80%8F", "decision=request_changes&reason=Say+who+facilitates.%0AAnd+when.", ""} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/cops/c1/decision", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		d, err := parseDecision(r)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid || len(ae.Fields) == 0 {
				t.Fatalf("parseDecision(%q) = %v, want invalid input naming fields", body, err)
			}
			for _, fe := range ae.Fields {
				if fe.Field != "decision" && fe.Field != "reason" {
					t.Fatalf("parseDecision(%q) names field %q", body, fe.Field)
				}
			}
			return
		}
		// Only what the registry can take goes on.
		if d.Decision != "approve" && d.Decision != "decline" && d.Decision != "request_changes" {
			t.Fatalf("parseDecision(%q) passed decision %q", body, d.Decision)
		}
		if !utf8.ValidString(d.Reason) || strings.ContainsRune(d.Reason, 0) || utf8.RuneCountInString(d.Reason) > maxReason {
			t.Fatalf("parseDecision(%q) passed reason %q", body, d.Reason)
		}
	})
}

func FuzzDecisionNotice(f *testing.F) {
	for _, q := range []string{"sent=approval&cop=c1", "sent=decline&cop=c2", "sent=approval&cop=gone", "sent=<script>&cop=c1",
		"cop=c1", "sent=approval&cop=%00", "%zz=1", ""} {
		f.Add(q)
	}
	d := &projection.RegionDetail{Queue: []projection.QueuedCoP{{ID: "c1", Name: "Nurses"}},
		Health: []projection.CoPHealth{{ID: "c2", Name: "Rangers", Status: "approved"}}}
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/regions/north", nil)
		r.URL.RawQuery = query
		notice := decisionNotice(r, d)
		q := r.URL.Query()
		sent := q.Get("sent")
		if notice != "" && sent != "approval" && sent != "decline" {
			t.Fatalf("query %q gave notice %q for sent=%q", query, notice, sent)
		}
		// The notice names a CoP only from the projection, never from the query.
		if notice != "" && q.Get("cop") != "c1" && q.Get("cop") != "c2" && notice != "The registry recorded your "+sent+"." {
			t.Fatalf("query %q gave notice %q", query, notice)
		}
	})
}

// FuzzSafeNext: whatever arrives as ?next=, the sign-in page only ever sends the browser on
// to a path of this site, never to another host.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/cops/c1", "//evil.example", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
		"", "/a?b=c#d", "\\x", "/%2F%2Fevil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeNext(s)
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("safeNext(%q) = %q leaves the site", s, got)
		}
	})
}

func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"Northland", `=HYPERLINK("https://evil.example","x")`, "+1", "-1", "@SUM(A1)", "\t=1", "\r=1",
		"", "'=already", "0.75", "a,b\"c\nd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cell := csvCell(s)
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Fatalf("csvCell(%q) = %q still starts a formula", s, cell)
		}
		if cell != s && cell != "'"+s {
			t.Fatalf("csvCell(%q) = %q changes more than a leading quote", s, cell)
		}
		// Through the writer and back, the neutralised text survives whole.
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := writeCSV(w, []string{s, "x"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
		if err != nil || len(rows) != 1 || len(rows[0]) != 2 {
			t.Fatalf("csv of %q does not read back: %q, %v", s, b.String(), err)
		}
		// encoding/csv turns \r\n inside a quoted field into \n on reading.
		if want := strings.ReplaceAll(cell, "\r\n", "\n"); rows[0][0] != want && rows[0][0] != strings.ReplaceAll(want, "\r", "\n") {
			t.Fatalf("csv of %q reads back as %q, want %q", s, rows[0][0], cell)
		}
	})
}
