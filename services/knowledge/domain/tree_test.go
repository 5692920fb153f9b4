package domain_test

import (
	"testing"

	"github.com/copnet/copnet/services/knowledge/domain"
)

// national ← vic ← {geelong, ballarat}; national ← wa.
func TestEachOverlapIsReportedByTheLowestNodeThatSeesBoth(t *testing.T) {
	type project struct{ origin, region string }
	geelong, ballarat, vic := project{"geelong", "vic"}, project{"ballarat", "vic"}, project{"vic", "vic"}
	wa, national := project{"wa", "wa"}, project{"national", "vic"}
	nodes := []struct{ id, tier string }{{"geelong", "local"}, {"vic", "regional"}, {"national", "national"}, {"wa", "regional"}}
	for _, c := range []struct {
		name string
		a, b project
		// reporter is the one node that reports; nodes that cannot see both never run
		// detection on the pair, so only the ones that do are checked.
		reporter string
		see      []string
	}{
		{"two geelong projects", geelong, geelong, "geelong", []string{"geelong", "vic", "national"}},
		{"geelong and ballarat", geelong, ballarat, "vic", []string{"vic", "national"}},
		{"geelong and vic's own", geelong, vic, "vic", []string{"vic", "national"}},
		{"geelong and wa", geelong, wa, "national", []string{"national"}},
		{"national's own and vic's", national, vic, "national", []string{"national"}},
	} {
		for _, n := range nodes {
			seen := false
			for _, s := range c.see {
				seen = seen || s == n.id
			}
			if !seen {
				continue
			}
			got := domain.DetectedHere(n.id, n.tier, c.a.origin, c.a.region, c.b.origin, c.b.region)
			if got != (n.id == c.reporter) {
				t.Errorf("%s: %s reports = %v, want only %s to", c.name, n.id, got, c.reporter)
			}
		}
	}
	if !domain.DetectedHere("national", "", "national", "vic", "national", "vic") {
		t.Error("a single node reports every pair of its own projects")
	}
}
