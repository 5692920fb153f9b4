package ical

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// unescape reads an RFC 5545 TEXT value back, as a calendar app does.
func unescape(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\N`, "\n", `\;`, ";", `\,`, ",").Replace(s)
}

// textOf is what a TEXT value can carry of s: valid UTF-8 without control characters, any
// line break (CRLF, CR, LF) one newline.
func textOf(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
	return strings.Map(func(r rune) rune {
		if r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f) {
			return -1
		}
		return r
	}, s)
}

// FuzzEscape: whatever a session's topic or location holds, its TEXT value has no control
// character, no unescaped ";" or ",", and reads back as the text it carried.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"Hall A", "Mentoring, reflective; practice", `Room 1\Level 2`, "Hall\x07 A\r\nBEGIN:VEVENT",
		"a\rb\nc\r\n", "\x00\x1b[31m\x7f", "ü\u0085é", "\xff\xfe", `\n literally`, "tab\there"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := escape(s)
		if strings.IndexFunc(e, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f }) >= 0 || !utf8.ValidString(e) {
			t.Fatalf("escape(%q) = %q carries a control character or invalid UTF-8", s, e)
		}
		for i := 0; i < len(e); i++ {
			switch e[i] {
			case '\\':
				i++ // the escaped character
			case ';', ',':
				t.Fatalf("escape(%q) = %q leaves %q unescaped", s, e, e[i])
			}
		}
		if got, want := unescape(e), textOf(s); got != want {
			t.Fatalf("escape(%q) reads back as %q, want %q", s, got, want)
		}
	})
}

// FuzzFold: every folded line is at most 75 octets and valid UTF-8, and unfolding gives the
// content line back.
func FuzzFold(f *testing.F) {
	for _, s := range []string{"SUMMARY:short", "SUMMARY:" + strings.Repeat("ü", 60), "X:" + strings.Repeat("a", 300), "", "€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = escape(s) // fold only ever sees escaped content lines
		out := fold(s)
		if !strings.HasSuffix(out, "\r\n") {
			t.Fatalf("fold(%q) = %q does not end the line", s, out)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
			if len(line) > 75 || !utf8.ValidString(line) {
				t.Fatalf("fold(%q) has line %q (%d octets)", s, line, len(line))
			}
		}
		if got := strings.ReplaceAll(strings.TrimSuffix(out, "\r\n"), "\r\n ", ""); got != s {
			t.Fatalf("fold(%q) unfolds to %q", s, got)
		}
	})
}
