package domain

import (
	"math"
	"strings"
	"time"
)

// Kind is why two projects are flagged together.
type Kind string

const (
	// KindFatigue: both ask the same community (same or containing place, same population
	// group) at nearly the same time; the community is asked twice.
	KindFatigue Kind = "fatigue"
	// KindDuplication: both work on the same topics in the same region, at about the same
	// time (overlapping or less than the gap apart), with different
	// communities; a partnership opportunity.
	KindDuplication Kind = "duplication"
)

// Kinds lists every kind, for validating filters.
var Kinds = []Kind{KindFatigue, KindDuplication}

// Community is a population group in a place.
type Community struct {
	Place string `json:"place"`
	Group string `json:"group"`
}

// Project is a CoP's project or engagement as the overlap rule sees it. Topics and groups
// are already canonical (through the taxonomy).
type Project struct {
	ID           string
	CoPID        string
	Region       string
	Organisation string
	Topics       []string
	Communities  []Community
	StartsOn     time.Time
	EndsOn       time.Time
}

// OverlapRule decides whether two projects overlap.
type OverlapRule struct {
	// GapDays: windows less than this many days apart still tire the same community
	// (default 30).
	GapDays int
}

// DefaultGapDays is the gap below which two engagements of one community count as one
// burden.
const DefaultGapDays = 30

// Overlap is the rule's verdict on a pair.
type Overlap struct {
	Kind  Kind
	Score float64
}

// Compare returns the overlap of a and b, if any. A project never overlaps itself, nor
// one of the same CoP and organisation (that is one team's own plan).
func (r OverlapRule) Compare(a, b Project) (Overlap, bool) {
	gap := r.GapDays
	if gap <= 0 {
		gap = DefaultGapDays
	}
	if a.ID == b.ID || (a.CoPID == b.CoPID && strings.EqualFold(a.Organisation, b.Organisation)) {
		return Overlap{}, false
	}
	topics := jaccard(a.Topics, b.Topics)
	if sharesCommunity(a, b) {
		apart := DaysApart(a, b)
		if apart >= gap {
			return Overlap{}, false
		}
		closeness := 1 - float64(apart)/float64(gap)
		// Asking the same community is the burden itself; shared topics and closeness
		// in time make it worse.
		return Overlap{KindFatigue, round(0.5 + 0.25*topics + 0.25*closeness)}, true
	}
	// Duplicated effort is work on the same topics in the same region at about the same
	// time: a project that ended years ago is no partner now, and without the window every
	// project would pair with every earlier one on its topics.
	if a.Region == b.Region && Shared(a.Topics, b.Topics) > 0 && DaysApart(a, b) < gap {
		return Overlap{KindDuplication, round(topics)}, true
	}
	return Overlap{}, false
}

// DaysApart is the number of days between the end of one window and the start of the
// other; 0 when the windows overlap.
func DaysApart(a, b Project) int {
	first, second := a, b
	if b.StartsOn.Before(a.StartsOn) {
		first, second = b, a
	}
	if !second.StartsOn.After(first.EndsOn) {
		return 0
	}
	return int(second.StartsOn.Sub(first.EndsOn).Hours() / 24)
}

// sharesCommunity: the same population group in the same place, or in a place inside the
// other's (a locality project asks part of a region-wide project's community).
func sharesCommunity(a, b Project) bool {
	for _, x := range a.Communities {
		for _, y := range b.Communities {
			if x.Group == y.Group && (Contains(x.Place, y.Place) || Contains(y.Place, x.Place)) {
				return true
			}
		}
	}
	return false
}

func jaccard(a, b []string) float64 {
	shared := Shared(a, b)
	union := len(a) + len(b) - shared
	if union == 0 {
		return 0
	}
	return float64(shared) / float64(union)
}

func round(x float64) float64 { return math.Round(x*100) / 100 }

// OrderedPair puts two project ids in a fixed order, so that a pair is one row whichever
// side's event found it.
func OrderedPair(a, b string) (string, string) {
	if b < a {
		return b, a
	}
	return a, b
}
