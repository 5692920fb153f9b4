package domain

import (
	"regexp"
	"strings"
)

// A place code names a place by its path from the country down, segments joined by dots:
// "au" (country), "au.vic" (state or region), "au.vic.geelong" (locality). A place is
// inside every place whose code is a prefix of its own, segment by segment.
var placeCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*){0,5}$`)

// ValidPlace reports whether s is a place code (at most six levels, 200 characters).
func ValidPlace(s string) bool { return len(s) <= 200 && placeCode.MatchString(s) }

// Ancestors lists a place and every place containing it, widest first:
// "au.vic.geelong" → au, au.vic, au.vic.geelong. Stored with each community, it turns
// "is inside" into an array-containment lookup a GIN index answers.
func Ancestors(place string) []string {
	parts := strings.Split(place, ".")
	out := make([]string, len(parts))
	for i := range parts {
		out[i] = strings.Join(parts[:i+1], ".")
	}
	return out
}

// Contains reports whether outer is inner or contains it.
func Contains(outer, inner string) bool {
	return inner == outer || strings.HasPrefix(inner, outer+".")
}
