package domain

import (
	"slices"
)

// Role is a meeting role that rotates among willing members.
type Role string

// The rotating roles.
const (
	Facilitator Role = "facilitator"
	NoteTaker   Role = "note_taker"
)

// Roles lists the rotating roles.
var Roles = []Role{Facilitator, NoteTaker}

// Roster is who fills a session's roles. A session hosted by a named group has no
// rotating roles.
type Roster struct {
	Facilitator string
	NoteTaker   string
	Hosted      bool
}

func (r Roster) get(role Role) string {
	if role == Facilitator {
		return r.Facilitator
	}
	return r.NoteTaker
}

func (r *Roster) set(role Role, who string) {
	if role == Facilitator {
		r.Facilitator = who
	} else {
		r.NoteTaker = who
	}
}

// Willing is, per role, the current members willing to take it.
type Willing map[Role][]string

// tally is one member's record at one role.
type tally struct {
	turns int
	last  int // position of the last turn in the CoP's timeline; -1 for never
}

// Rotate fills the roles of upcoming sessions (in date order) after the past ones. A
// current assignment that is still valid (the person is willing and a member) is kept, so
// people's plans do not churn; an empty or invalid one is filled fairly: fewest turns at
// that role first, then longest since the last turn, and nobody takes the same role in two
// sessions in a row while someone else is willing. Facilitator and note-taker of one
// session are always different people. A slot nobody can fill stays empty.
func Rotate(past, upcoming []Roster, willing Willing) []Roster {
	tallies := map[Role]map[string]*tally{}
	for _, role := range Roles {
		tallies[role] = map[string]*tally{}
		for _, p := range willing[role] {
			tallies[role][p] = &tally{last: -1}
		}
	}
	count := func(role Role, who string, at int) {
		if t, ok := tallies[role][who]; ok && who != "" {
			t.turns++
			t.last = at
		}
	}
	for i, r := range past {
		for _, role := range Roles {
			count(role, r.get(role), i)
		}
	}
	out := slices.Clone(upcoming)
	for i := range out {
		at := len(past) + i
		if out[i].Hosted {
			out[i].Facilitator, out[i].NoteTaker = "", ""
			continue
		}
		for _, role := range Roles {
			cur := out[i].get(role)
			valid := cur != "" && slices.Contains(willing[role], cur) &&
				(role == Facilitator || cur != out[i].Facilitator)
			if !valid {
				// The other role's holder is never a candidate; for the facilitator that is
				// the note-taker being kept, so a replacement does not displace them.
				var exclude []string
				if role == NoteTaker {
					exclude = append(exclude, out[i].Facilitator)
				} else if slices.Contains(willing[NoteTaker], out[i].NoteTaker) {
					exclude = append(exclude, out[i].NoteTaker)
				}
				var avoid []string
				if prev := neighbour(past, out, i-1); prev != nil {
					avoid = append(avoid, prev.get(role))
				}
				if next := neighbour(past, out, i+1); next != nil && slices.Contains(willing[role], next.get(role)) {
					avoid = append(avoid, next.get(role))
				}
				cur = choose(willing[role], tallies[role], exclude, avoid)
				out[i].set(role, cur)
			}
			count(role, cur, at)
		}
	}
	return out
}

// neighbour is the roster at upcoming index i, reaching back into the past for i = -1.
func neighbour(past, upcoming []Roster, i int) *Roster {
	switch {
	case i >= 0 && i < len(upcoming):
		return &upcoming[i]
	case i < 0 && len(past)+i >= 0:
		return &past[len(past)+i]
	}
	return nil
}

// choose picks the fairest candidate: never one in exclude, and one in avoid only when
// nobody else is left.
func choose(candidates []string, tallies map[string]*tally, exclude, avoid []string) string {
	var open, fallback []string
	for _, c := range candidates {
		switch {
		case slices.Contains(exclude, c):
		case slices.Contains(avoid, c):
			fallback = append(fallback, c)
		default:
			open = append(open, c)
		}
	}
	if len(open) == 0 {
		open = fallback
	}
	if len(open) == 0 {
		return ""
	}
	return slices.MinFunc(open, func(a, b string) int {
		ta, tb := tallies[a], tallies[b]
		switch {
		case ta.turns != tb.turns:
			return ta.turns - tb.turns
		case ta.last != tb.last:
			return ta.last - tb.last
		}
		// Ids break the last tie so that the same inputs always give the same rota.
		if a < b {
			return -1
		}
		return 1
	})
}
