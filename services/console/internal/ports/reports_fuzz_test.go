package ports

import (
	"encoding/csv"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzReportCSVRoundTrip: whatever people name their regions, CoPs, topics or projects, a
// report or export parses back as the same number of rows and columns, each cell as
// written, except that a cell a spreadsheet would run as a formula starts with a quote.
func FuzzReportCSVRoundTrip(f *testing.F) {
	for _, s := range []string{"Northland", `=HYPERLINK("http://x")`, "a,b", "line\nbreak", `"quoted"`, "-1", "\r", "tab\there", ""} {
		f.Add(s, "second")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !validUTF8NoNUL(a) || !validUTF8NoNUL(b) {
			t.Skip()
		}
		rec := httptest.NewRecorder()
		rows := [][]string{{a, b}, {b, a}}
		writeCSVFile(rec, "x", []string{"first", "second"}, rows)
		got, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
		if err != nil {
			t.Fatalf("does not parse back: %v\n%q", err, rec.Body.String())
		}
		if len(got) != 3 {
			t.Fatalf("%d rows, want 3: %q", len(got), got)
		}
		for i, row := range rows {
			for j, c := range row {
				// A reader may turn a quoted field's \r\n into \n (RFC 4180 readers do).
				want, cell := strings.ReplaceAll(csvCell(c), "\r", ""), strings.ReplaceAll(got[i+1][j], "\r", "")
				if cell != want {
					t.Errorf("cell %d,%d = %q, want %q", i, j, got[i+1][j], csvCell(c))
				}
				if s := got[i+1][j]; s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
					t.Errorf("cell %q starts a formula", s)
				}
			}
		}
	})
}

func validUTF8NoNUL(s string) bool {
	return strings.ToValidUTF8(s, "") == s && !strings.ContainsRune(s, 0)
}
