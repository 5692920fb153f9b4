package scheduling_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/copnet/copnet/pkg/events"
)

type rsvp struct {
	SessionID string `json:"session_id"`
	PersonID  string `json:"person_id"`
	Answer    string `json:"answer"`
}

func (e *env) rsvps(session, token string) map[string]string {
	e.t.Helper()
	var out struct {
		RSVPs []rsvp `json:"rsvps"`
	}
	e.must(http.StatusOK, &out, "GET", "/v1/sessions/"+session+"/rsvps", token, nil)
	m := map[string]string{}
	for _, v := range out.RSVPs {
		m[v.PersonID] = v.Answer
	}
	return m
}

// TestMembersAnswerAheadOfASession: a member says they will come, then sends apologies
// instead (the later answer counts); the coordinator sees every answer, a member only
// their own; the caller's next sessions carry their answer.
func TestMembersAnswerAheadOfASession(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	e.join("c1", "m1", "m2")
	p := e.plan("c1", "2026-03-03T18:00", 3)
	s1, s2 := p.Sessions[0].ID, p.Sessions[1].ID

	e.must(http.StatusOK, nil, "PUT", "/v1/sessions/"+s1+"/rsvp", e.member("m1"), map[string]any{"answer": "coming"})
	e.must(http.StatusOK, nil, "PUT", "/v1/sessions/"+s1+"/rsvp", e.member("m2"), map[string]any{"answer": "coming"})
	var got rsvp
	e.must(http.StatusOK, &got, "PUT", "/v1/sessions/"+s1+"/rsvp", e.member("m1"), map[string]any{"answer": "apologies"})
	if got.PersonID != "m1" || got.Answer != "apologies" {
		t.Errorf("answer stored as %+v", got)
	}
	if all := e.rsvps(s1, e.coordinator("c1")); len(all) != 2 || all["m1"] != "apologies" || all["m2"] != "coming" {
		t.Errorf("the coordinator sees %v, want m1 apologies and m2 coming", all)
	}
	if mine := e.rsvps(s1, e.member("m2")); len(mine) != 1 || mine["m2"] != "coming" {
		t.Errorf("m2 sees %v, want only their own answer", mine)
	}

	var next struct {
		Sessions []struct {
			Session session `json:"session"`
			RSVP    string  `json:"rsvp"`
		} `json:"sessions"`
	}
	e.must(http.StatusOK, &next, "GET", "/v1/me/sessions?limit=2", e.member("m1"), nil)
	if len(next.Sessions) != 2 || next.Sessions[0].Session.ID != s1 || next.Sessions[0].RSVP != "apologies" ||
		next.Sessions[1].Session.ID != s2 || next.Sessions[1].RSVP != "" {
		t.Errorf("m1's next sessions: %+v", next.Sessions)
	}
	e.must(http.StatusBadRequest, nil, "GET", "/v1/me/sessions?limit=0", e.member("m1"), nil)

	// Someone who leaves is no longer expected: their answer drops off the list.
	e.n.Publish(t, events.MemberLeft{CoPID: "c1", Region: "vic", PersonID: "m2", Reason: "left"})
	e.await(func() error {
		if all := e.rsvps(s1, e.coordinator("c1")); len(all) != 1 {
			return fmt.Errorf("answers after m2 left: %v", all)
		}
		return nil
	})
}

// TestAnsweringIsForMembersAndForThemselvesOnly tries the forbidden: a non-member answers,
// a coordinator who is not a member answers, a member answers for someone else, answers
// after the session started or was cancelled, and a bad answer.
func TestAnsweringIsForMembersAndForThemselvesOnly(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	e.approve("c2", "vic")
	e.join("c1", "m1", "m2")
	e.join("c2", "m3")
	past := e.plan("c1", "2026-02-24T18:00", 3) // 24 Feb (started), 3 and 10 Mar
	started, upcoming, later := past.Sessions[0].ID, past.Sessions[1].ID, past.Sessions[2].ID

	coming := map[string]any{"answer": "coming"}
	e.must(http.StatusForbidden, nil, "PUT", "/v1/sessions/"+upcoming+"/rsvp", e.member("m3"), coming)
	e.must(http.StatusForbidden, nil, "PUT", "/v1/sessions/"+upcoming+"/rsvp", e.member("m9"), coming)
	e.must(http.StatusForbidden, nil, "PUT", "/v1/sessions/"+upcoming+"/rsvp", e.coordinator("c1"), coming)
	e.must(http.StatusUnauthorized, nil, "PUT", "/v1/sessions/"+upcoming+"/rsvp", "", coming)
	// The body names nobody: a person_id is refused, and m2 has no answer afterwards.
	st, raw := e.n.Do(t, "PUT", "/v1/sessions/"+upcoming+"/rsvp", e.member("m1"), map[string]any{"answer": "apologies", "person_id": "m2"})
	if st != http.StatusBadRequest {
		t.Errorf("answering for someone else: %d %s, want 400", st, raw)
	}
	if all := e.rsvps(upcoming, e.coordinator("c1")); len(all) != 0 {
		t.Errorf("after the refused answers the session has %v", all)
	}
	st, raw = e.n.Do(t, "PUT", "/v1/sessions/"+upcoming+"/rsvp", e.member("m1"), map[string]any{"answer": "maybe"})
	if st != http.StatusBadRequest || !field(raw, "answer") {
		t.Errorf("answer maybe: %d %s, want 400 naming answer", st, raw)
	}
	// A member of another CoP cannot read the answers either.
	e.must(http.StatusForbidden, nil, "GET", "/v1/sessions/"+upcoming+"/rsvps", e.member("m3"), nil)
	e.must(http.StatusNotFound, nil, "PUT", "/v1/sessions/nope/rsvp", e.member("m1"), coming)

	e.must(http.StatusConflict, nil, "PUT", "/v1/sessions/"+started+"/rsvp", e.member("m1"), coming)
	e.must(http.StatusOK, nil, "POST", "/v1/sessions/"+later+"/cancel", e.coordinator("c1"), map[string]any{"reason": "storm"})
	e.must(http.StatusConflict, nil, "PUT", "/v1/sessions/"+later+"/rsvp", e.member("m1"), coming)
}

// TestASwapExchangesTurnsAndStays: the facilitators of two sessions trade turns, a later
// rebalance keeps the swap, and a swap that would give one person both roles is refused.
func TestASwapExchangesTurnsAndStays(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	e.join("c1", "p1", "p2", "p3", "p4")
	for _, p := range []string{"p1", "p2", "p3", "p4"} {
		e.must(http.StatusOK, nil, "PUT", "/v1/cops/c1/rotation/"+p, e.member(p), map[string]any{"willing": true})
	}
	p := e.plan("c1", "2026-03-03T18:00", 4)
	// Two sessions whose facilitators can trade without anyone taking both roles.
	var a, b session
	for i, x := range p.Sessions {
		for _, y := range p.Sessions[i+1:] {
			if a.ID == "" && x.Facilitator != y.NoteTaker && y.Facilitator != x.NoteTaker && x.Facilitator != y.Facilitator {
				a, b = x, y
			}
		}
	}
	if a.ID == "" {
		t.Fatalf("no two sessions can trade facilitators: %+v", p.Sessions)
	}
	var out struct {
		Sessions []session `json:"sessions"`
	}
	e.must(http.StatusOK, &out, "POST", "/v1/sessions/"+a.ID+"/swap", e.coordinator("c1"), map[string]any{"role": "facilitator", "with_session": b.ID})
	if out.Sessions[0].Facilitator != b.Facilitator || out.Sessions[1].Facilitator != a.Facilitator {
		t.Fatalf("after the swap: %+v, before: %+v %+v", out.Sessions, a, b)
	}
	// p3 opts out and in again: the rotation rebalances, and keeps the swapped turns.
	e.must(http.StatusOK, nil, "PUT", "/v1/cops/c1/rotation/p3", e.member("p3"), map[string]any{"willing": true})
	now := map[string]session{}
	for _, s := range e.sessions("c1") {
		now[s.ID] = s
	}
	if now[a.ID].Facilitator != b.Facilitator || now[b.ID].Facilitator != a.Facilitator {
		t.Errorf("the rebalance undid the swap: %+v", now)
	}
	// The outbox forwards asynchronously: wait for the swap's roles_assigned of both.
	e.await(func() error {
		seen := map[string]string{}
		for _, ev := range published[events.RolesAssigned](e, "roles_assigned") {
			seen[ev.SessionID] = ev.Facilitator
		}
		if seen[a.ID] != b.Facilitator || seen[b.ID] != a.Facilitator {
			return fmt.Errorf("roles_assigned so far: %v", seen)
		}
		return nil
	})
	// Giving a session's note-taker its facilitation as well is refused.
	refused := 0
	for _, x := range now {
		for _, y := range now {
			if x.ID != y.ID && y.Facilitator != "" && y.Facilitator == x.NoteTaker {
				e.must(http.StatusConflict, nil, "POST", "/v1/sessions/"+x.ID+"/swap", e.coordinator("c1"),
					map[string]any{"role": "facilitator", "with_session": y.ID})
				refused++
			}
		}
	}
	if refused == 0 {
		t.Errorf("no swap to refuse among %+v", now)
	}
	e.must(http.StatusForbidden, nil, "POST", "/v1/sessions/"+a.ID+"/swap", e.member("p1"), map[string]any{"role": "facilitator", "with_session": b.ID})
	e.must(http.StatusBadRequest, nil, "POST", "/v1/sessions/"+a.ID+"/swap", e.coordinator("c1"), map[string]any{"role": "chair", "with_session": a.ID})
}
