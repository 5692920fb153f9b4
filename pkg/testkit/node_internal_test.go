package testkit

import "testing"

func TestSubjectMatches(t *testing.T) {
	for _, c := range []struct {
		filter, subject string
		want            bool
	}{
		{"cop.*.registry.cop_approved", "cop.vic.registry.cop_approved", true},
		{"cop.*.registry.cop_approved", "cop.vic.registry.cop_declined", false},
		{"cop.national.>", "cop.national.registry.cop_approved", true},
		{"cop.national.>", "cop.national", false},
		{"cop.*", "cop.vic.registry", false},
	} {
		if got := subjectMatches(c.filter, c.subject); got != c.want {
			t.Errorf("subjectMatches(%q, %q) = %v", c.filter, c.subject, got)
		}
	}
}
