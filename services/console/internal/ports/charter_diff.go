package ports

// What changed between two charter versions, for people deciding whether to accept a new
// Code of Practice: lines that stayed, and within lines that changed, the words removed and
// added. Lines are compared first (a charter is a few hundred lines at most), then the
// words of each changed stretch, so that one edited sentence shows as the words that
// changed rather than a whole paragraph struck out and retyped.

import (
	"strings"
	"unicode"
)

// diffPart is a run of text that stayed ("same"), was removed ("del") or added ("ins").
type diffPart struct {
	Kind string
	Text string
}

// diffLine is one line of the comparison, as its parts.
type diffLine struct {
	Parts []diffPart
	// Changed says the line differs between the versions.
	Changed bool
}

// maxDiffCells bounds the work of one comparison (lines × lines, or words × words of one
// changed stretch): beyond it the stretch shows as removed whole and added whole, which is
// still true, only coarser.
const maxDiffCells = 1 << 20

// diffText compares two texts line by line, then word by word within changed stretches.
func diffText(before, after string) []diffLine {
	a, b := splitLines(before), splitLines(after)
	var out []diffLine
	var dels, inss []string
	flush := func() {
		if len(dels) == 0 && len(inss) == 0 {
			return
		}
		out = append(out, diffWords(strings.Join(dels, "\n"), strings.Join(inss, "\n"))...)
		dels, inss = nil, nil
	}
	for _, op := range diffSeq(a, b) {
		switch op.kind {
		case "same":
			flush()
			out = append(out, diffLine{Parts: []diffPart{{Kind: "same", Text: op.text}}})
		case "del":
			dels = append(dels, op.text)
		case "ins":
			inss = append(inss, op.text)
		}
	}
	flush()
	return out
}

// diffWords compares a changed stretch word by word and lays the result out in lines
// again (a line break is a token of its own).
func diffWords(before, after string) []diffLine {
	ops := diffSeq(tokens(before), tokens(after))
	var out []diffLine
	line := diffLine{Changed: true}
	for _, op := range ops {
		if op.text == "\n" {
			// A break kept, removed or added ends the line shown.
			out = append(out, line)
			line = diffLine{Changed: true}
			continue
		}
		n := len(line.Parts)
		if n > 0 && line.Parts[n-1].Kind == op.kind {
			line.Parts[n-1].Text += op.text
		} else {
			line.Parts = append(line.Parts, diffPart{Kind: op.kind, Text: op.text})
		}
	}
	if len(line.Parts) > 0 {
		out = append(out, line)
	}
	return out
}

// splitLines splits text into lines, whatever its line endings.
func splitLines(s string) []string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// tokens splits text into words, runs of spaces, punctuation marks and line breaks, which
// joined give the text back.
func tokens(s string) []string {
	var out []string
	kind := func(r rune) int {
		switch {
		case r == '\n':
			return 2
		case unicode.IsSpace(r):
			return 1
		case unicode.IsPunct(r):
			return 3
		}
		return 0
	}
	start, prev := 0, -1
	for i, r := range s {
		k := kind(r)
		// A line break and each punctuation mark stand alone, so that "it." becoming
		// "it, then more." shows the words added, not the whole word replaced.
		if i > start && (k != prev || k >= 2) {
			out = append(out, s[start:i])
			start = i
		}
		prev = k
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

type diffOp struct{ kind, text string }

// diffSeq is the longest-common-subsequence comparison of two sequences: what both keep,
// what only a has (removed) and what only b has (added), in order. Common ends are taken
// off first; a middle too large to compare is removed and added whole.
func diffSeq(a, b []string) []diffOp {
	var head, tail []diffOp
	for len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		head = append(head, diffOp{"same", a[0]})
		a, b = a[1:], b[1:]
	}
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] == b[len(b)-1] {
		tail = append([]diffOp{{"same", a[len(a)-1]}}, tail...)
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	var mid []diffOp
	if len(a)*len(b) > maxDiffCells {
		for _, s := range a {
			mid = append(mid, diffOp{"del", s})
		}
		for _, s := range b {
			mid = append(mid, diffOp{"ins", s})
		}
	} else {
		// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
		w := len(b) + 1
		lcs := make([]int32, (len(a)+1)*w)
		for i := len(a) - 1; i >= 0; i-- {
			for j := len(b) - 1; j >= 0; j-- {
				if a[i] == b[j] {
					lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
				} else {
					lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(a) && j < len(b) {
			switch {
			case a[i] == b[j]:
				mid = append(mid, diffOp{"same", a[i]})
				i, j = i+1, j+1
			case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
				mid = append(mid, diffOp{"del", a[i]})
				i++
			default:
				mid = append(mid, diffOp{"ins", b[j]})
				j++
			}
		}
		for ; i < len(a); i++ {
			mid = append(mid, diffOp{"del", a[i]})
		}
		for ; j < len(b); j++ {
			mid = append(mid, diffOp{"ins", b[j]})
		}
	}
	return append(append(head, mid...), tail...)
}
