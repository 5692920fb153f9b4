package domain

import "time"

// Supply and demand are what knowledge gaps are made of. Demand is a topic a CoP needs: an
// open request raised in it, a topic its learning-priority poll put first, or the topic of
// one of its sessions after which confidence was low. Supply is what a region has on a
// topic: experts (members of the CoP they declared from, or, declared without a CoP, in
// every region they are a member in), shared assets, and held sessions.
//
// A CoP's own need is not its own supply. A session a CoP held before its need arose did
// not meet it: the need is evidence of that (confidence stayed low after that very
// session; the topic still ranks first in its priorities; its members still ask). So a held
// session supplies another CoP's demand whenever it took place, and its own CoP's demand
// only if it took place after the demand arose. Experts and assets have no such history
// with the demand and meet any demand of their region.

// SupplyItem is one piece of supply on a topic in a region. CoPID and At are set for held
// sessions only: the CoP that held it and when it took place.
type SupplyItem struct {
	Source string // expert, asset or session
	CoPID  string
	At     time.Time
}

// DemandItem is one piece of demand: the CoP it comes from and when it arose.
type DemandItem struct {
	CoPID string
	At    time.Time
}

// Supplies reports whether s meets d, both on the same topic in the same region. The gaps
// query (adapters.gapsSQL) states the same rule in SQL.
func Supplies(s SupplyItem, d DemandItem) bool {
	if s.Source != "session" {
		return true
	}
	return s.CoPID != d.CoPID || s.At.After(d.At)
}
