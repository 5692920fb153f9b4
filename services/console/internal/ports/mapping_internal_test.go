package ports

import (
	"bytes"
	"strings"
	"testing"
)

// TestTimelineLaysProjectsOverMonths: bars start and end where their dates fall on a scale
// of whole months, in date order, and the page draws them with their words.
func TestTimelineLaysProjectsOverMonths(t *testing.T) {
	ps := []kProject{
		{ID: "b", Title: "Forum", StartsOn: "2026-04-01", EndsOn: "2026-05-31"},
		{ID: "a", Title: "Survey", StartsOn: "2026-03-01", EndsOn: "2026-03-31"},
	}
	tl := buildTimeline(ps, nil, map[string][]string{"b": {"South CoP"}})
	if tl.From != "Mar 2026" || tl.To != "May 2026" || len(tl.Ticks) != 2 {
		t.Fatalf("axis %s – %s, ticks %v", tl.From, tl.To, tl.Ticks)
	}
	if len(tl.Rows) != 2 || tl.Rows[0].Project.ID != "a" || tl.Rows[0].X != 0 {
		t.Fatalf("rows %+v", tl.Rows)
	}
	// March is 31 of the 92 days: the survey's bar ends a third of the way.
	if w := tl.Rows[0].Width; w < 336 || w > 338 {
		t.Errorf("March's bar is %.1f of 1000 wide", w)
	}
	if end := tl.Rows[1].X + tl.Rows[1].Width; end < 999.9 || end > 1000.1 {
		t.Errorf("the forum's bar ends at %.1f", end)
	}
	var buf bytes.Buffer
	if err := mustParsePages().byName["map"].Execute(&buf, mapPageData{CoPID: "c", CoPName: "C", Timeline: tl, Projects: ps}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 Mar – 31 Mar 2026", "overlaps with South CoP", `data-project="a"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestWindowSaysDatesInWords(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"2026-03-01", "2026-04-30"}: "1 Mar – 30 Apr 2026",
		{"2025-12-01", "2026-01-31"}: "1 Dec 2025 – 31 Jan 2026",
		{"2026-03-01", "2026-03-01"}: "1 Mar 2026",
	} {
		if got := window(in[0], in[1]); got != want {
			t.Errorf("window%v = %q, want %q", in, got, want)
		}
	}
	if placeName("nz.otago.queenstown-lakes.wanaka") != "Wānaka, Otago" || placeName("xx.y") != "xx.y" {
		t.Errorf("place names: %q", placeName("nz.otago.queenstown-lakes.wanaka"))
	}
}
