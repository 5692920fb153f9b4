package domain_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/copnet/copnet/services/scheduling/domain"
)

func people(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("p%d", i+1)
	}
	return out
}

func both(ps []string) domain.Willing {
	return domain.Willing{domain.Facilitator: ps, domain.NoteTaker: ps}
}

// checkFair asserts the rotation's promises over a run of sessions.
func checkFair(t *testing.T, rota []domain.Roster, willing domain.Willing) {
	t.Helper()
	for _, role := range domain.Roles {
		turns := map[string]int{}
		for i, r := range rota {
			who := pick(r, role)
			if who == "" {
				t.Fatalf("session %d has no %s", i+1, role)
			}
			turns[who]++
			if i > 0 && pick(rota[i-1], role) == who && len(willing[role]) > 1 {
				t.Errorf("%s is %s twice in a row (sessions %d and %d)", who, role, i, i+1)
			}
		}
		lo, hi := len(rota), 0
		for _, p := range willing[role] {
			lo, hi = min(lo, turns[p]), max(hi, turns[p])
		}
		if hi-lo > 1 {
			t.Errorf("%s turns are uneven: %v", role, turns)
		}
	}
	for i, r := range rota {
		if r.Facilitator == r.NoteTaker {
			t.Errorf("session %d: %s both facilitates and takes notes", i+1, r.Facilitator)
		}
	}
}

func pick(r domain.Roster, role domain.Role) string {
	if role == domain.Facilitator {
		return r.Facilitator
	}
	return r.NoteTaker
}

func TestRotationIsFairOverSevenSessions(t *testing.T) {
	for _, n := range []int{2, 3, 5} {
		t.Run(fmt.Sprintf("%d willing members", n), func(t *testing.T) {
			willing := both(people(n))
			rota := domain.Rotate(nil, make([]domain.Roster, 7), willing)
			checkFair(t, rota, willing)
			// Everyone gets a turn before anyone gets a second one.
			if n <= 7 {
				var firsts []string
				for _, r := range rota[:n] {
					firsts = append(firsts, r.Facilitator)
				}
				slices.Sort(firsts)
				if !slices.Equal(slices.Compact(firsts), people(n)) {
					t.Errorf("first %d facilitators %v, want each member once", n, firsts)
				}
			}
		})
	}
}

func TestRotationContinuesFromHistory(t *testing.T) {
	willing := both(people(3))
	past := []domain.Roster{{Facilitator: "p1", NoteTaker: "p2"}, {Facilitator: "p2", NoteTaker: "p1"}}
	next := domain.Rotate(past, make([]domain.Roster, 1), willing)[0]
	if next.Facilitator != "p3" {
		t.Errorf("facilitator %q, want p3 who has not facilitated yet", next.Facilitator)
	}
	if next.NoteTaker != "p2" {
		// p3 facilitates; p1 took notes last time, so p2 (equal turns, longer ago) does.
		t.Errorf("note-taker %q, want p2", next.NoteTaker)
	}
}

func TestRotationKeepsValidTurnsAndReassignsALeaversTurns(t *testing.T) {
	willing := both(people(4))
	rota := domain.Rotate(nil, make([]domain.Roster, 7), willing)
	remaining := both([]string{"p1", "p2", "p4"})
	again := domain.Rotate(nil, rota, remaining)
	for i := range rota {
		for _, role := range domain.Roles {
			before, after := pick(rota[i], role), pick(again[i], role)
			if before == "p3" && (after == "p3" || after == "") {
				t.Errorf("session %d: %s still %q after p3 left", i+1, role, after)
			}
			if before != "p3" && after != before {
				t.Errorf("session %d: %s changed from %s to %s though they stayed", i+1, role, before, after)
			}
		}
		if again[i].Facilitator == again[i].NoteTaker {
			t.Errorf("session %d: one person in both roles", i+1)
		}
	}
}

func TestRotationHonoursWillingnessPerRoleAndHostedSessions(t *testing.T) {
	willing := domain.Willing{domain.Facilitator: {"p1", "p2"}, domain.NoteTaker: {"p3"}}
	in := make([]domain.Roster, 4)
	in[2] = domain.Roster{Hosted: true, Facilitator: "p1"}
	rota := domain.Rotate(nil, in, willing)
	for i, r := range rota {
		if i == 2 {
			if r.Facilitator != "" || r.NoteTaker != "" {
				t.Errorf("hosted session got roles %+v", r)
			}
			continue
		}
		if !slices.Contains(willing[domain.Facilitator], r.Facilitator) || r.NoteTaker != "p3" {
			t.Errorf("session %d: %+v breaks willingness", i+1, r)
		}
	}
	// Only one willing note-taker: they take notes every time rather than leave it empty.
	if empty := domain.Rotate(nil, make([]domain.Roster, 2), domain.Willing{}); empty[0] != (domain.Roster{}) {
		t.Errorf("nobody willing, got %+v", empty[0])
	}
}
