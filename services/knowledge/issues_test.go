package knowledge_test

// Defects from issues 13 and 14, each played against a running knowledge service.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// publishAt publishes events with envelope times of the caller's choosing, in the order
// given: redeliveries and separate consumers make any order possible.
func (e *env) publishAt(t *testing.T, evs []events.Event, at []time.Time) {
	t.Helper()
	pub, err := e.Bus.NewPublisher("test-publish-at")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for i, ev := range evs {
		msg, err := e.Bus.NewMessage(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		msg.Metadata.Set(events.HeaderTime, at[i].UTC().Format(time.RFC3339Nano))
		if err := pub.Publish(ev.EventName().Subject(e.Bus.NodeID()), msg); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) membership(t *testing.T, cop, person string) (active, known bool) {
	t.Helper()
	err := e.Pool("knowledge").QueryRow(context.Background(),
		"SELECT active FROM members WHERE cop_id = $1 AND person_id = $2", cop, person).Scan(&active)
	if err != nil {
		return false, false
	}
	return active, true
}

// TestOnlyThoseWhoBelongActInACoP: a member of an nsw CoP cannot raise a request in a vic
// CoP (and so never sees the vic expert who is visible in that CoP only), nor declare
// expertise from it; someone who belongs to no CoP cannot declare at all; and an expert
// who left the CoP they declared from no longer answers what was routed to them.
func TestOnlyThoseWhoBelongActInACoP(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic", "cop-nsw", "nsw")
	e.joined(t, "cop-vic", "vic", "vic-expert", "vic-asker")
	e.joined(t, "cop-nsw", "nsw", "nsw-member")
	e.must(t, http.StatusCreated, "POST", "/v1/expertise", e.member(t, "vic-expert"),
		map[string]any{"person_id": "vic-expert", "cop_id": "cop-vic", "topics": []string{"grants"}, "level": "expert", "visibility": "cop"}, nil)

	ask := func(who string) map[string]any {
		return map[string]any{"person_id": who, "cop_id": "cop-vic", "topics": []string{"grants"}, "question": "Who writes grants?"}
	}
	code, raw := e.Do(t, "POST", "/v1/requests", e.member(t, "nsw-member"), ask("nsw-member"))
	if code != http.StatusForbidden {
		t.Fatalf("a member of cop-nsw raising in cop-vic → %d %s, want 403", code, raw)
	}
	e.must(t, http.StatusForbidden, "POST", "/v1/requests", e.member(t, "nobody"), ask("nobody"), nil)
	e.must(t, http.StatusForbidden, "POST", "/v1/expertise", e.member(t, "nsw-member"),
		map[string]any{"person_id": "nsw-member", "cop_id": "cop-vic", "topics": []string{"x"}, "level": "expert", "visibility": "cop"}, nil)
	e.must(t, http.StatusForbidden, "POST", "/v1/expertise", e.member(t, "nobody"),
		map[string]any{"person_id": "nobody", "topics": []string{"x"}, "level": "expert", "visibility": "national"}, nil)
	e.must(t, http.StatusCreated, "POST", "/v1/expertise", e.member(t, "nsw-member"),
		map[string]any{"person_id": "nsw-member", "topics": []string{"x"}, "level": "expert", "visibility": "national"}, nil)

	var req struct {
		ID      string
		Experts []struct {
			PersonID string `json:"person_id"`
		}
	}
	e.must(t, http.StatusCreated, "POST", "/v1/requests", e.member(t, "vic-asker"), ask("vic-asker"), &req)
	if len(req.Experts) != 1 || req.Experts[0].PersonID != "vic-expert" {
		t.Fatalf("a member of cop-vic is routed to %+v, want vic-expert", req.Experts)
	}
	e.Publish(t, events.MemberLeft{CoPID: "cop-vic", Region: "vic", PersonID: "vic-expert", Reason: "left"})
	testkit.Eventually(t, waitFor, func() error {
		if active, _ := e.membership(t, "cop-vic", "vic-expert"); active {
			return fmt.Errorf("vic-expert still a member")
		}
		return nil
	})
	e.must(t, http.StatusForbidden, "POST", "/v1/requests/"+req.ID+"/answers", e.member(t, "vic-expert"), map[string]any{"body": "me"}, nil)
	e.must(t, http.StatusForbidden, "POST", "/v1/requests", e.member(t, "vic-expert"), ask("vic-expert"), nil)
	// Nor is an expert who left offered to the next asker.
	e.must(t, http.StatusCreated, "POST", "/v1/requests", e.member(t, "vic-asker"), ask("vic-asker"), &req)
	if len(req.Experts) != 0 {
		t.Errorf("experts after the only one left: %+v", req.Experts)
	}
}

// TestMembershipsApplyInAnyOrder: a leave dated after a join wins whichever arrives first,
// and a redelivered older join never undoes a later leave.
func TestMembershipsApplyInAnyOrder(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic")
	t0 := time.Now().Add(-time.Hour)
	join := events.MemberJoined{CoPID: "cop-vic", Region: "vic", PersonID: "p-late", CodeOfPracticeVersion: 1}
	leave := events.MemberLeft{CoPID: "cop-vic", Region: "vic", PersonID: "p-late", Reason: "left"}
	rejoin := events.MemberJoined{CoPID: "cop-vic", Region: "vic", PersonID: "p-late", CodeOfPracticeVersion: 1}
	// Applied as rejoin (t0+2), leave (t0+1), join (t0): the rejoin stands.
	e.publishAt(t, []events.Event{rejoin, leave, join}, []time.Time{t0.Add(2 * time.Second), t0.Add(time.Second), t0})
	testkit.Eventually(t, waitFor, func() error {
		if n := e.processed(t, "on_member_joined") + e.processed(t, "on_member_left"); n != 3 {
			return fmt.Errorf("%d membership events applied", n)
		}
		return nil
	})
	if active, known := e.membership(t, "cop-vic", "p-late"); !known || !active {
		t.Errorf("after join, leave, re-join applied out of order: active=%v known=%v, want a member", active, known)
	}
	// A leave dated later ends it; the old join, delivered again, does not bring it back.
	e.publishAt(t, []events.Event{leave, join}, []time.Time{t0.Add(3 * time.Second), t0})
	testkit.Eventually(t, waitFor, func() error {
		if n := e.processed(t, "on_member_joined") + e.processed(t, "on_member_left"); n != 5 {
			return fmt.Errorf("%d membership events applied", n)
		}
		return nil
	})
	if active, _ := e.membership(t, "cop-vic", "p-late"); active {
		t.Error("an older join undid a later leave")
	}
}

// TestALateJoinAfterErasureWritesNothing: person_erased, then a member_joined for the same
// person (late, redelivered, or from a slow node): no row holds their id again.
func TestALateJoinAfterErasureWritesNothing(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic")
	e.joined(t, "cop-vic", "vic", "p-gone")
	e.Publish(t, events.PersonErased{PersonID: "p-gone"})
	testkit.Eventually(t, waitFor, func() error {
		if e.processed(t, "on_person_erased") != 1 {
			return fmt.Errorf("person_erased not applied yet")
		}
		return nil
	})
	e.Publish(t, events.MemberJoined{CoPID: "cop-vic", Region: "vic", PersonID: "p-gone", CodeOfPracticeVersion: 1})
	testkit.Eventually(t, waitFor, func() error {
		if e.processed(t, "on_member_joined") != 2 {
			return fmt.Errorf("the late member_joined not applied yet")
		}
		return nil
	})
	if _, known := e.membership(t, "cop-vic", "p-gone"); known {
		t.Error("a member_joined after person_erased wrote the erased id again")
	}
	e.must(t, http.StatusForbidden, "POST", "/v1/expertise", e.member(t, "p-gone"),
		map[string]any{"person_id": "p-gone", "cop_id": "cop-vic", "topics": []string{"x"}, "level": "expert", "visibility": "cop"}, nil)
}

// TestASynonymRenamesGroupsAndFindsTheOverlap: two projects ask the same community under
// two names; once "youth" becomes a synonym of "young people", the stored group is renamed
// and the overlap is found, once, even when the topic is added before a third project.
func TestASynonymRenamesGroupsAndFindsTheOverlap(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic", "cop-nsw", "nsw")
	var a struct{ ID string }
	e.must(t, http.StatusCreated, "POST", "/v1/projects", e.coordinator(t, "cop-vic"),
		project("cop-vic", "Youth survey", []string{"mental health"}, "au.vic.geelong", "youth", "2026-03-01", "2026-03-31"), &a)
	e.must(t, http.StatusCreated, "POST", "/v1/projects", e.hub(t, "nsw"),
		project("cop-nsw", "Listening tour", []string{"employment", "Youth Work"}, "au.vic", "young people", "2026-04-01", "2026-04-15"), nil)
	testkit.Eventually(t, waitFor, func() error {
		if n := e.processed(t, "on_project_mapped"); n != 2 {
			return fmt.Errorf("%d project_mapped applied", n)
		}
		return nil
	})
	if got := payloads[events.OverlapDetected](t, e); len(got) != 0 {
		t.Fatalf("an overlap before the synonym: %+v", got)
	}

	e.must(t, http.StatusCreated, "POST", "/v1/topics", e.national(t),
		map[string]any{"name": "young people", "synonyms": []string{"youth"}}, nil)
	e.must(t, http.StatusCreated, "POST", "/v1/topics", e.national(t),
		map[string]any{"name": "youth work", "synonyms": []string{"working with young people"}}, nil)
	var list struct {
		Projects []struct {
			ID          string
			Communities []struct{ Place, Group string }
		}
	}
	e.must(t, http.StatusOK, "GET", "/v1/projects?cop=cop-vic", e.national(t), nil, &list)
	if len(list.Projects) != 1 || list.Projects[0].Communities[0].Group != "young people" {
		t.Fatalf("stored group after the synonym: %+v", list.Projects)
	}
	testkit.Eventually(t, waitFor, func() error {
		got := payloads[events.OverlapDetected](t, e)
		if len(got) != 1 || got[0].Kind != "fatigue" || !slices.Contains(got[0].ProjectIDs, a.ID) {
			return fmt.Errorf("overlap_detected = %+v, want one fatigue overlap", got)
		}
		return nil
	})
	var n int
	if err := e.Pool("knowledge").QueryRow(context.Background(), "SELECT count(*) FROM project_overlaps").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d overlaps stored (%v), want 1", n, err)
	}
}

// TestASynonymRenamesDemand: demand recorded under a term that later becomes a synonym is
// demand on the topic: the gap is on the topic's name, and supply under the name fills it.
func TestASynonymRenamesDemand(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic", "cop-vic2", "vic")
	e.Publish(t, events.ResultsPublished{PollID: "poll-1", CoPID: "cop-vic", Kind: "ranking", Purpose: "learning_priorities",
		Responses: 7, Results: map[string]any{"questions": []any{map[string]any{"key": "q1", "kind": "ranking", "method": "borda",
			"ranking": []any{map[string]any{"option": "Grant writing", "position": 1, "score": 8}}}}}})
	testkit.Eventually(t, waitFor, func() error {
		var gaps struct{ Gaps []gap }
		e.must(t, http.StatusOK, "GET", "/v1/gaps", e.national(t), nil, &gaps)
		if len(gaps.Gaps) != 1 || gaps.Gaps[0].Topic != "grant writing" {
			return fmt.Errorf("gaps = %+v", gaps.Gaps)
		}
		return nil
	})
	e.must(t, http.StatusCreated, "POST", "/v1/topics", e.national(t),
		map[string]any{"name": "grants", "synonyms": []string{"grant writing"}}, nil)
	var gaps struct{ Gaps []gap }
	e.must(t, http.StatusOK, "GET", "/v1/gaps", e.national(t), nil, &gaps)
	if len(gaps.Gaps) != 1 || gaps.Gaps[0].Topic != "grants" {
		t.Fatalf("gaps after the synonym = %+v, want grants", gaps.Gaps)
	}
	e.must(t, http.StatusCreated, "POST", "/v1/assets", e.coordinator(t, "cop-vic2"),
		map[string]any{"cop_id": "cop-vic2", "title": "Grant template", "url": "https://example.org/g", "topics": []string{"grants"}}, nil)
	e.must(t, http.StatusOK, "GET", "/v1/gaps", e.national(t), nil, &gaps)
	if len(gaps.Gaps) != 0 {
		t.Errorf("gaps after an asset on the topic = %+v", gaps.Gaps)
	}
}

// TestLowConfidenceBecomesAGap: members of cop-vic were not confident after a session on
// evaluation. That session is not supply for its own CoP's need: evaluation is a gap of
// vic. A later session of another vic CoP on the topic fills it.
func TestLowConfidenceBecomesAGap(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic", "cop-vic2", "vic")
	held := time.Now().Add(-24 * time.Hour)
	e.Publish(t, events.SessionHeld{SessionID: "s-eval", CoPID: "cop-vic", ProgramID: "p1", Number: 1, HeldAt: held, Topics: []string{"Evaluation"}})
	testkit.Eventually(t, waitFor, func() error {
		if e.processed(t, "on_session_held") != 1 {
			return fmt.Errorf("session_held not applied yet")
		}
		return nil
	})
	e.Publish(t, events.ResultsPublished{PollID: "eval-1", CoPID: "cop-vic", SessionID: "s-eval", Kind: "scale", Purpose: "evaluation",
		Responses: 6, Results: map[string]any{"questions": []any{map[string]any{"key": "confidence", "kind": "scale", "mean": 1.5,
			"distribution": map[string]any{"1": 3, "2": 3, "3": 0, "4": 0, "5": 0}}}}})
	testkit.Eventually(t, waitFor, func() error {
		var gaps struct{ Gaps []gap }
		e.must(t, http.StatusOK, "GET", "/v1/gaps?region=vic", e.hub(t, "vic"), nil, &gaps)
		if len(gaps.Gaps) != 1 || gaps.Gaps[0].Topic != "evaluation" || !slices.Equal(gaps.Gaps[0].Demand, []string{"low_confidence"}) {
			return fmt.Errorf("vic gaps = %+v, want evaluation from low confidence", gaps.Gaps)
		}
		return nil
	})
	testkit.Eventually(t, waitFor, func() error {
		if got := payloads[events.GapIdentified](t, e); len(got) != 1 || got[0].Topic != "evaluation" {
			return fmt.Errorf("gap_identified = %+v", got)
		}
		return nil
	})
	e.Publish(t, events.SessionHeld{SessionID: "s-eval-2", CoPID: "cop-vic2", ProgramID: "p2", Number: 1, HeldAt: time.Now(), Topics: []string{"evaluation"}})
	testkit.Eventually(t, waitFor, func() error {
		var gaps struct{ Gaps []gap }
		e.must(t, http.StatusOK, "GET", "/v1/gaps?region=vic", e.hub(t, "vic"), nil, &gaps)
		if len(gaps.Gaps) != 0 {
			return fmt.Errorf("vic gaps after another CoP's session = %+v", gaps.Gaps)
		}
		return nil
	})
}

// TestAnExpertWithoutACoPIsSupplyWhereTheyAreAMember: an expert declares with national
// visibility and no CoP; membership says they are a member in nsw. vic's gap on the topic
// names nsw as supply; when they leave their nsw CoP, it no longer does.
func TestAnExpertWithoutACoPIsSupplyWhereTheyAreAMember(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic", "cop-nsw", "nsw")
	e.joined(t, "cop-vic", "vic", "asker")
	e.joined(t, "cop-nsw", "nsw", "roaming-expert")
	e.must(t, http.StatusCreated, "POST", "/v1/expertise", e.member(t, "roaming-expert"),
		map[string]any{"person_id": "roaming-expert", "topics": []string{"soil health"}, "level": "expert", "visibility": "national"}, nil)
	e.must(t, http.StatusCreated, "POST", "/v1/requests", e.member(t, "asker"),
		map[string]any{"cop_id": "cop-vic", "person_id": "asker", "topics": []string{"soil health"}, "question": "Soil carbon?"}, nil)
	var gaps struct{ Gaps []gap }
	e.must(t, http.StatusOK, "GET", "/v1/gaps?region=vic", e.national(t), nil, &gaps)
	if len(gaps.Gaps) != 1 || !slices.Equal(gaps.Gaps[0].SupplyingRegions, []string{"nsw"}) {
		t.Fatalf("vic gaps = %+v, want soil health supplied by nsw", gaps.Gaps)
	}
	testkit.Eventually(t, waitFor, func() error {
		got := payloads[events.GapIdentified](t, e)
		if len(got) != 1 || !slices.Equal(got[0].SupplyingRegions, []string{"nsw"}) {
			return fmt.Errorf("gap_identified = %+v", got)
		}
		return nil
	})
	// Joining a vic CoP makes them vic's own supply: the gap closes.
	e.joined(t, "cop-vic", "vic", "roaming-expert")
	testkit.Eventually(t, waitFor, func() error {
		e.must(t, http.StatusOK, "GET", "/v1/gaps?region=vic", e.national(t), nil, &gaps)
		if len(gaps.Gaps) != 0 {
			return fmt.Errorf("vic gaps with the expert a vic member = %+v", gaps.Gaps)
		}
		return nil
	})
}
