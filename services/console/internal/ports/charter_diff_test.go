package ports

import (
	"strings"
	"testing"
)

// side joins what a comparison shows of one version: the parts that stayed and those of
// kind, without line breaks (which a changed stretch may lay out differently).
func side(lines []diffLine, kind string) string {
	var b strings.Builder
	for _, l := range lines {
		for _, p := range l.Parts {
			if p.Kind == "same" || p.Kind == kind {
				b.WriteString(p.Text)
			}
		}
	}
	return b.String()
}

func TestDiffTextShowsTheWordsThatChanged(t *testing.T) {
	before := "Be kind.\nListen first.\nKeep what is shared here confidential."
	after := "Be kind.\nListen first, then speak.\nKeep what is shared here confidential.\nStart on time."
	lines := diffText(before, after)
	if len(lines) != 4 || lines[0].Changed || !lines[1].Changed || lines[2].Changed || !lines[3].Changed {
		t.Fatalf("lines = %+v", lines)
	}
	want := []diffPart{{"same", "Listen first"}, {"ins", ", then speak"}, {"same", "."}}
	if got := lines[1].Parts; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("changed line = %+v, want %+v", got, want)
	}
	if got := lines[3].Parts; len(got) != 1 || got[0] != (diffPart{"ins", "Start on time."}) {
		t.Errorf("added line = %+v", got)
	}
}

// FuzzDiffText: whatever two texts a coordinator publishes, the comparison gives back each
// version (what stayed and what was removed is the old one; what stayed and what was added
// is the new one).
func FuzzDiffText(f *testing.F) {
	f.Add("Be kind.\nListen.", "Be kind.\nListen, then speak.\n\nNew rule.")
	f.Add("", "x")
	f.Add("a\r\nb", "a\nc\r")
	f.Add("  two  spaces\n\n", "two spaces")
	f.Fuzz(func(t *testing.T, before, after string) {
		lines := diffText(before, after)
		flat := func(s string) string {
			return strings.NewReplacer("\r\n", "", "\r", "", "\n", "").Replace(s)
		}
		if got := side(lines, "del"); got != flat(before) {
			t.Fatalf("old side %q, want %q", got, flat(before))
		}
		if got := side(lines, "ins"); got != flat(after) {
			t.Fatalf("new side %q, want %q", got, flat(after))
		}
	})
}
