package domain

import "slices"

// Visibility is how far a person lets their declared expertise be seen.
type Visibility string

// Visibilities, narrowest first.
const (
	VisibleCoP      Visibility = "cop"
	VisibleRegion   Visibility = "region"
	VisibleNational Visibility = "national"
)

// Visibilities lists every visibility, for validation.
var Visibilities = []Visibility{VisibleCoP, VisibleRegion, VisibleNational}

// Expert is one declaration of expertise; CoPID and Region are where the person declared
// it from (empty when they gave no CoP).
type Expert struct {
	ExpertiseID string
	PersonID    string
	CoPID       string
	Region      string
	Topics      []string
	Level       string
	Visibility  Visibility
}

// Proximity is how near an expert is to the one asking.
type Proximity string

// Proximities, nearest first.
const (
	SameCoP      Proximity = "cop"
	SameRegion   Proximity = "region"
	OtherRegions Proximity = "national"
)

var proximityRank = map[Proximity]int{SameCoP: 0, SameRegion: 1, OtherRegions: 2}

// Match is an expert who may answer a request, and how near they are.
type Match struct {
	Expert
	Proximity Proximity
	Shared    int
}

// MatchExperts picks the experts who may see a request from person asker in CoP cop of
// region, on topics, and orders them nearest first (same CoP, then region, then the rest
// of the network), then by how many of the request's topics they cover. An expert is only
// offered where their visibility reaches; nobody is matched to their own request.
func MatchExperts(asker, cop, region string, topics []string, experts []Expert) []Match {
	best := map[string]Match{}
	for _, e := range experts {
		shared := Shared(topics, e.Topics)
		if e.PersonID == asker || shared == 0 {
			continue
		}
		var p Proximity
		switch {
		case e.CoPID != "" && e.CoPID == cop:
			p = SameCoP
		case e.Region != "" && e.Region == region:
			p = SameRegion
		default:
			p = OtherRegions
		}
		if (e.Visibility == VisibleCoP && p != SameCoP) || (e.Visibility == VisibleRegion && p == OtherRegions) {
			continue
		}
		m := Match{Expert: e, Proximity: p, Shared: shared}
		// One person declared from several CoPs is offered once, at their nearest.
		if prev, ok := best[e.PersonID]; ok && !nearer(m, prev) {
			continue
		}
		best[e.PersonID] = m
	}
	out := make([]Match, 0, len(best))
	for _, m := range best {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Match) int {
		switch {
		case nearer(a, b):
			return -1
		case nearer(b, a):
			return 1
		}
		return 0
	})
	return out
}

func nearer(a, b Match) bool {
	if proximityRank[a.Proximity] != proximityRank[b.Proximity] {
		return proximityRank[a.Proximity] < proximityRank[b.Proximity]
	}
	if a.Shared != b.Shared {
		return a.Shared > b.Shared
	}
	return a.ExpertiseID < b.ExpertiseID
}
