// Package domain holds the knowledge service's rules: how topics and population groups are
// named, how place codes nest, when two projects overlap, and how experts are ranked.
package domain

import (
	"slices"
	"strings"
)

// Normalise lower-cases a term and collapses its white space, so that "Young  People" and
// "young people" are the same term before the taxonomy is even consulted.
func Normalise(term string) string {
	return strings.Join(strings.Fields(strings.ToLower(term)), " ")
}

// Taxonomy maps every known term (a topic's name or one of its synonyms) to the topic's
// name. Matching goes through it, so "youth" and "young people" meet.
type Taxonomy map[string]string

// Canonical names each term by its topic; a term the taxonomy does not know stays as its
// own normalised topic. The result is sorted and free of duplicates, so that two lists of
// topics compare by content.
func (t Taxonomy) Canonical(terms []string) []string {
	out := []string{}
	for _, term := range terms {
		n := Normalise(term)
		if name, ok := t[n]; ok {
			n = name
		}
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// One names a single term by its topic.
func (t Taxonomy) One(term string) string {
	if c := t.Canonical([]string{term}); len(c) == 1 {
		return c[0]
	}
	return ""
}

// Shared counts the topics two sorted topic lists have in common.
func Shared(a, b []string) int {
	n := 0
	for _, x := range a {
		if slices.Contains(b, x) {
			n++
		}
	}
	return n
}
