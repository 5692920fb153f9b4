package domain

import (
	"errors"
	"fmt"
	"testing"
)

func group(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("wg%d", i+1)
	}
	return out
}

// TestVotesNeededIs75PercentOfTheWorkingGroup pins the threshold at every size from 1 to
// 12: a share of the members, rounded up, never of the votes cast.
func TestVotesNeededIs75PercentOfTheWorkingGroup(t *testing.T) {
	want := map[int]int{1: 1, 2: 2, 3: 3, 4: 3, 5: 4, 6: 5, 7: 6, 8: 6, 9: 7, 10: 8, 11: 9, 12: 9}
	for n := 1; n <= 12; n++ {
		if got := VotesNeeded(n); got != want[n] {
			t.Errorf("VotesNeeded(%d) = %d, want %d", n, got, want[n])
		}
		if got := VotesNeeded(n); 4*got < 3*n || 4*(got-1) >= 3*n {
			t.Errorf("VotesNeeded(%d) = %d is not the least count reaching 75%%", n, got)
		}
	}
}

// TestRemovalCarriesExactlyAtTheThreshold: at every size, one vote short stays open and
// the threshold vote carries it, whatever the others did not vote.
func TestRemovalCarriesExactlyAtTheThreshold(t *testing.T) {
	for n := 1; n <= 12; n++ {
		wg := group(n)
		r, err := OpenRemoval("r", "cop", "subject", wg[0], "why", wg)
		if err != nil {
			t.Fatal(err)
		}
		need := VotesNeeded(n)
		for i := 0; i < need; i++ {
			if r.Status != RemovalOpen {
				t.Fatalf("size %d: %s after %d of %d supporting votes", n, r.Status, i, need)
			}
			decided, err := r.Vote(wg[i], true)
			if err != nil {
				t.Fatalf("size %d: vote %d: %v", n, i, err)
			}
			if decided != (i == need-1) {
				t.Errorf("size %d: vote %d decided = %v", n, i+1, decided)
			}
		}
		if r.Status != RemovalCarried || r.Supporting() != need {
			t.Errorf("size %d: %s with %d votes, want carried with %d", n, r.Status, r.Supporting(), need)
		}
	}
}

// TestRemovalIsRejectedOnceItCannotCarry: as soon as the electors still to vote cannot
// bring support to the threshold, the proposal is rejected.
func TestRemovalIsRejectedOnceItCannotCarry(t *testing.T) {
	for n := 1; n <= 12; n++ {
		wg := group(n)
		r, _ := OpenRemoval("r", "cop", "subject", wg[0], "why", wg)
		// Votes against the removal that a removal can afford: n - need.
		affordable := n - VotesNeeded(n)
		for i := 0; i < affordable; i++ {
			if _, err := r.Vote(wg[i], false); err != nil {
				t.Fatal(err)
			}
			if r.Status != RemovalOpen {
				t.Fatalf("size %d: %s after %d votes against, which it can afford", n, r.Status, i+1)
			}
		}
		decided, err := r.Vote(wg[affordable], false)
		if err != nil || !decided || r.Status != RemovalRejected {
			t.Errorf("size %d: one more vote against: decided=%v status=%s err=%v, want rejected", n, decided, r.Status, err)
		}
	}
}

// TestFourMembersNeedThreeAndFiveNeedFour is the issue's own example.
func TestFourMembersNeedThreeAndFiveNeedFour(t *testing.T) {
	r, _ := OpenRemoval("r", "cop", "subject", "a", "why", []string{"a", "b", "c", "d"})
	r.Vote("a", true)
	r.Vote("b", true)
	if r.Status != RemovalOpen {
		t.Fatalf("4 members, 2 votes: %s, want open", r.Status)
	}
	r.Vote("c", true)
	if r.Status != RemovalCarried {
		t.Fatalf("4 members, 3 votes: %s, want carried", r.Status)
	}
	r, _ = OpenRemoval("r", "cop", "subject", "a", "why", []string{"a", "b", "c", "d", "e"})
	for _, v := range []string{"a", "b", "c"} {
		r.Vote(v, true)
	}
	if r.Status != RemovalOpen {
		t.Fatalf("5 members, 3 votes: %s, want open", r.Status)
	}
	r.Vote("d", true)
	if r.Status != RemovalCarried {
		t.Fatalf("5 members, 4 votes: %s, want carried", r.Status)
	}
}

func TestOnlyTheWorkingGroupVotesOnceAndNeverTheSubject(t *testing.T) {
	wg := []string{"a", "b", "c", "subject"}
	r, err := OpenRemoval("r", "cop", "subject", "a", "why", wg)
	if err != nil {
		t.Fatal(err)
	}
	if r.WorkingGroupSize() != 4 || r.VotesNeeded() != 3 {
		t.Fatalf("the subject counts in the group: size %d need %d, want 4 and 3", r.WorkingGroupSize(), r.VotesNeeded())
	}
	if _, err := r.Vote("outsider", true); !errors.Is(err, ErrNotElector) {
		t.Errorf("a non-member of the working group voted: %v", err)
	}
	if _, err := r.Vote("subject", false); !errors.Is(err, ErrNotElector) {
		t.Errorf("the subject voted: %v", err)
	}
	if _, err := r.Vote("a", true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Vote("a", true); !errors.Is(err, ErrClosed) {
		t.Errorf("a second vote by the same member: %v", err)
	}
	if r.Supporting() != 1 {
		t.Errorf("supporting = %d, want 1", r.Supporting())
	}
	r.Vote("b", true)
	r.Vote("c", true)
	if r.Status != RemovalCarried {
		t.Fatalf("status %s, want carried", r.Status)
	}
	if _, err := r.Vote("subject", true); !errors.Is(err, ErrClosed) {
		t.Errorf("a vote on a decided removal: %v", err)
	}
}

func TestOpeningARemoval(t *testing.T) {
	if _, err := OpenRemoval("r", "cop", "s", "outsider", "why", []string{"a"}); !errors.Is(err, ErrNotElector) {
		t.Errorf("a proposer outside the working group: %v", err)
	}
	if _, err := OpenRemoval("r", "cop", "a", "a", "why", []string{"a", "b"}); err == nil {
		t.Error("a member proposed their own removal")
	}
	// Two in the group, one of them the subject: 2 votes needed, 1 possible.
	r, err := OpenRemoval("r", "cop", "b", "a", "why", []string{"a", "b"})
	if err != nil || r.Status != RemovalRejected {
		t.Errorf("a removal that can never carry: status %v err %v, want rejected at once", r.Status, err)
	}
}
