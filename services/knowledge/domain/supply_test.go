package domain

import (
	"testing"
	"time"
)

func TestACoPsOwnNeedIsNotItsOwnSupply(t *testing.T) {
	held := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	low := DemandItem{CoPID: "cop-vic", At: held.Add(24 * time.Hour)} // confidence low after the session
	cases := []struct {
		name string
		s    SupplyItem
		d    DemandItem
		want bool
	}{
		{"the session that produced the demand", SupplyItem{"session", "cop-vic", held}, low, false},
		{"an earlier session of the same CoP", SupplyItem{"session", "cop-vic", held.Add(-time.Hour)}, low, false},
		{"a later session of the same CoP", SupplyItem{"session", "cop-vic", held.Add(48 * time.Hour)}, low, true},
		{"another CoP's session, earlier", SupplyItem{"session", "cop-vic2", held}, low, true},
		{"an expert", SupplyItem{Source: "expert"}, low, true},
		{"an asset", SupplyItem{Source: "asset"}, low, true},
	}
	for _, c := range cases {
		if got := Supplies(c.s, c.d); got != c.want {
			t.Errorf("%s: Supplies = %v, want %v", c.name, got, c.want)
		}
	}
}
