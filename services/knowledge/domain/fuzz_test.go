package domain_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/services/knowledge/domain"
)

// FuzzPlaceCode: a place code accepted is the last of its ancestors, every ancestor is a
// place code containing it, and nothing panics on any input.
func FuzzPlaceCode(f *testing.F) {
	for _, s := range []string{"au", "au.vic", "au.vic.geelong", "nz.akl.waitakere-ranges", "au..vic", ".au", "au.", "AU.vic",
		"a.b.c.d.e.f", "a.b.c.d.e.f.g", "au|vic", "au.vic_1", strings.Repeat("a", 201), ""} {
		f.Add(s, "au.vic")
	}
	f.Fuzz(func(t *testing.T, place, other string) {
		ok := domain.ValidPlace(place)
		_ = domain.Contains(place, other)
		if !ok {
			return
		}
		if strings.ContainsAny(place, "| ") {
			t.Fatalf("%q accepted with a separator the store relies on", place)
		}
		anc := domain.Ancestors(place)
		if len(anc) == 0 || len(anc) > 6 || anc[len(anc)-1] != place {
			t.Fatalf("Ancestors(%q) = %v", place, anc)
		}
		for _, a := range anc {
			if !domain.ValidPlace(a) || !domain.Contains(a, place) {
				t.Fatalf("ancestor %q of %q", a, place)
			}
		}
		if domain.ValidPlace(other) && domain.Contains(place, other) && domain.Contains(other, place) && place != other {
			t.Fatalf("%q and %q contain each other", place, other)
		}
	})
}

// FuzzTaxonomy: normalising is idempotent and leaves no stray space; canonical lists are
// sorted, free of duplicates and of empty terms, and name each term by its topic.
func FuzzTaxonomy(f *testing.F) {
	f.Add("Young  People", "youth", "young people")
	f.Add(" Mental\thealth ", "", "mental health")
	f.Add("\u00a0x\u2003y", "X Y", "z")
	f.Fuzz(func(t *testing.T, a, b, name string) {
		for _, s := range []string{a, b, name} {
			n := domain.Normalise(s)
			if domain.Normalise(n) != n || strings.TrimSpace(n) != n || strings.Contains(n, "  ") {
				t.Fatalf("Normalise(%q) = %q", s, n)
			}
		}
		tax := domain.Taxonomy{}
		if n := domain.Normalise(name); n != "" {
			tax[domain.Normalise(b)] = n
		}
		got := tax.Canonical([]string{a, b, a})
		if !slices.IsSorted(got) || slices.Contains(got, "") || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("Canonical = %q", got)
		}
		if nb := domain.Normalise(b); nb != "" && tax[nb] != "" && !slices.Contains(got, tax[nb]) {
			t.Fatalf("Canonical(%q) = %q lacks the topic %q", b, got, tax[nb])
		}
	})
}

// FuzzFeedbackResults: whatever results_published carries (it passed the bus's schema
// check, which leaves questions open), reading demand from it never panics and a ranking
// yields at most TopPriorities topics.
func FuzzFeedbackResults(f *testing.F) {
	f.Add(`{"questions":[{"key":"q1","kind":"ranking","ranking":[{"option":"Evaluation","position":2},{"option":"Facilitation","position":1}]}]}`)
	f.Add(`{"questions":[{"key":"confidence","kind":"scale","mean":1.5,"distribution":{"1":3,"2":3,"5":0}}]}`)
	f.Add(`{"questions":[{"key":"confidence","kind":"scale","mean":1e308,"distribution":{"-1e308":1,"1e308":1}}]}`)
	f.Add(`{"questions":[{"key":"confidence","mean":"low"},{"kind":"ranking","ranking":[1,null,{"option":7}]}]}`)
	f.Add(`{"questions":{}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var results map[string]any
		if json.Unmarshal([]byte(raw), &results) != nil {
			return
		}
		if got := domain.LearningPriorities(results); len(got) > domain.TopPriorities {
			t.Fatalf("%d priorities", len(got))
		}
		_ = domain.ConfidenceIsLow(results)
	})
}
