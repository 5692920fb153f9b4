package domain_test

import (
	"testing"

	"github.com/copnet/copnet/services/scheduling/domain"
)

func TestDeclineRuleOnHandMadeSeries(t *testing.T) {
	cases := []struct {
		name      string
		rates     []float64
		rule      domain.DeclineRule
		declining bool
		enough    bool
	}{
		{"steady", []float64{.8, .8, .8, .8, .8, .8, .8}, domain.DefaultDeclineRule, false, true},
		{"drop of exactly 30%", []float64{1, 1, 1, .7, .7, .7}, domain.DefaultDeclineRule, true, true},
		{"drop just under 30%", []float64{1, 1, 1, .71, .71, .71}, domain.DefaultDeclineRule, false, true},
		{"the seeds' drop-off over seven sessions", []float64{.9, .85, .8, .7, .5, .45, .4}, domain.DefaultDeclineRule, true, true},
		{"rising", []float64{.3, .4, .5, .7, .8, .9}, domain.DefaultDeclineRule, false, true},
		{"too few sessions to compare", []float64{1, .1, .1}, domain.DefaultDeclineRule, false, false},
		{"a stricter configured threshold", []float64{1, 1, 1, .7, .7, .7}, domain.DeclineRule{Window: 3, Drop: .5}, false, true},
		{"a shorter configured window", []float64{1, 1, .5, .5}, domain.DeclineRule{Window: 2, Drop: .3}, true, true},
		{"nobody ever came", []float64{0, 0, 0, 0}, domain.DefaultDeclineRule, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := c.rule.Assess(c.rates)
			if tr.Declining != c.declining || tr.Enough != c.enough {
				t.Errorf("Assess(%v) = %+v, want declining=%v enough=%v", c.rates, tr, c.declining, c.enough)
			}
		})
	}
}

func TestTurnoutRateCountsUnrecordedMembersAsAbsent(t *testing.T) {
	if r := (domain.Turnout{Attended: 3, Members: 6}).Rate(); r != .5 {
		t.Errorf("rate %v, want .5", r)
	}
	// A guest recorded beyond the roster cannot push the rate over 1.
	if r := (domain.Turnout{Attended: 4, Absent: 1, Members: 3}).Rate(); r != .8 {
		t.Errorf("rate %v, want .8", r)
	}
	if r := (domain.Turnout{}).Rate(); r != 0 {
		t.Errorf("empty rate %v", r)
	}
	if err := (domain.DeclineRule{Window: 0, Drop: .3}).Validate(); err == nil {
		t.Error("window 0 accepted")
	}
}
