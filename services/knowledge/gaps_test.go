package knowledge_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

func containsField(problem []byte, field string) bool {
	var p struct{ Errors []struct{ Field string } }
	_ = json.Unmarshal(problem, &p)
	for _, f := range p.Errors {
		if f.Field == field {
			return true
		}
	}
	return bytes.Contains(problem, []byte(`"field":"`+field+`"`))
}

type gap struct {
	Region           string   `json:"region"`
	Topic            string   `json:"topic"`
	Demand           []string `json:"demand"`
	SupplyingRegions []string `json:"supplying_regions"`
}

// TestDemandInOneRegionSupplyInAnother: vic asks about soil health and nobody in vic
// knows; an expert in nsw does. vic's gap names nsw as supply, gap_identified goes out
// once, and the request is routed to the nsw expert.
func TestDemandInOneRegionSupplyInAnother(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic", "cop-nsw", "nsw")
	e.joined(t, "cop-nsw", "nsw", "expert-1", "expert-2")
	e.joined(t, "cop-vic", "vic", "asker")
	e.must(t, http.StatusCreated, "POST", "/v1/expertise", e.member(t, "expert-1"),
		map[string]any{"person_id": "expert-1", "cop_id": "cop-nsw", "topics": []string{"Soil health"}, "level": "expert", "visibility": "national"}, nil)
	e.must(t, http.StatusCreated, "POST", "/v1/expertise", e.member(t, "expert-2"),
		map[string]any{"person_id": "expert-2", "cop_id": "cop-nsw", "topics": []string{"soil health"}, "level": "expert", "visibility": "region"}, nil)

	var req struct {
		ID      string
		Experts []struct {
			PersonID  string `json:"person_id"`
			Proximity string `json:"proximity"`
		}
	}
	e.must(t, http.StatusCreated, "POST", "/v1/requests", e.member(t, "asker"),
		map[string]any{"cop_id": "cop-vic", "person_id": "asker", "topics": []string{"soil health"}, "question": "How do we test soil carbon?"}, &req)
	if len(req.Experts) != 1 || req.Experts[0].PersonID != "expert-1" || req.Experts[0].Proximity != "national" {
		t.Errorf("experts = %+v, want only expert-1 (expert-2 is visible in nsw only)", req.Experts)
	}
	e.must(t, http.StatusForbidden, "POST", "/v1/requests", e.member(t, "someone"),
		map[string]any{"cop_id": "cop-vic", "person_id": "asker", "topics": []string{"x"}, "question": "q"}, nil)

	var gaps struct{ Gaps []gap }
	e.must(t, http.StatusOK, "GET", "/v1/gaps?region=vic", e.hub(t, "vic"), nil, &gaps)
	if len(gaps.Gaps) != 1 || gaps.Gaps[0].Topic != "soil health" || !slices.Equal(gaps.Gaps[0].SupplyingRegions, []string{"nsw"}) {
		t.Fatalf("vic gaps = %+v, want soil health supplied by nsw", gaps.Gaps)
	}
	e.must(t, http.StatusForbidden, "GET", "/v1/gaps?region=vic", e.hub(t, "nsw"), nil, nil)
	testkit.Eventually(t, waitFor, func() error {
		got := payloads[events.GapIdentified](t, e)
		if len(got) != 1 || got[0].Region != "vic" || got[0].Topic != "soil health" || !slices.Equal(got[0].SupplyingRegions, []string{"nsw"}) {
			return fmt.Errorf("gap_identified = %+v", got)
		}
		return nil
	})

	// The matched expert answers; a session on the topic held in vic fills the gap.
	e.must(t, http.StatusCreated, "POST", "/v1/requests/"+req.ID+"/answers", e.member(t, "expert-1"),
		map[string]any{"body": "Use a lab."}, nil)
	e.must(t, http.StatusForbidden, "POST", "/v1/requests/"+req.ID+"/answers", e.member(t, "expert-2"),
		map[string]any{"body": "Me too."}, nil)
	// Held after the request was raised: it meets the CoP's own need (domain.Supplies).
	e.Publish(t, events.SessionHeld{SessionID: "s1", CoPID: "cop-vic", ProgramID: "p1", Number: 1, HeldAt: time.Now(), Topics: []string{"Soil Health"}})
	testkit.Eventually(t, waitFor, func() error {
		var gaps struct{ Gaps []gap }
		e.must(t, http.StatusOK, "GET", "/v1/gaps?region=vic", e.national(t), nil, &gaps)
		if len(gaps.Gaps) != 0 {
			return fmt.Errorf("vic gaps after a session on the topic: %+v", gaps.Gaps)
		}
		return nil
	})
	testkit.Eventually(t, waitFor, func() error {
		if got := payloads[events.GapFilled](t, e); len(got) != 1 || got[0] != (events.GapFilled{Region: "vic", Topic: "soil health"}) {
			return fmt.Errorf("gap_filled = %+v, want vic's soil health once", got)
		}
		return nil
	})
	e.must(t, http.StatusOK, "POST", "/v1/requests/"+req.ID+"/close", e.member(t, "asker"), nil, nil)
	e.must(t, http.StatusConflict, "POST", "/v1/requests/"+req.ID+"/close", e.member(t, "asker"), nil, nil)
}

// TestLearningPrioritiesAreDemand: the topics feedback's learning-priority ranking puts
// first become demand in the CoP's region.
func TestLearningPrioritiesAreDemand(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic")
	e.Publish(t, events.ResultsPublished{PollID: "poll-1", CoPID: "cop-vic", Kind: "ranking", Purpose: "learning_priorities",
		Responses: 7, Results: map[string]any{"questions": []any{map[string]any{"key": "q1", "kind": "ranking", "method": "borda",
			"ranking": []any{
				map[string]any{"option": "Evaluation", "position": 2, "score": 5},
				map[string]any{"option": "Facilitation", "position": 1, "score": 8},
			}}}}})
	testkit.Eventually(t, waitFor, func() error {
		var gaps struct{ Gaps []gap }
		e.must(t, http.StatusOK, "GET", "/v1/gaps", e.national(t), nil, &gaps)
		if len(gaps.Gaps) != 2 || gaps.Gaps[0].Topic != "evaluation" || gaps.Gaps[0].Demand[0] != "learning_priority" {
			return fmt.Errorf("gaps = %+v", gaps.Gaps)
		}
		return nil
	})
}

// TestErasedPersonIsScrubbed: person_erased removes the person's expertise and their link
// to requests, and the topic they supplied becomes a gap again.
func TestErasedPersonIsScrubbed(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic")
	e.joined(t, "cop-vic", "vic", "p-exp", "p-ask")
	e.must(t, http.StatusCreated, "POST", "/v1/expertise", e.member(t, "p-exp"),
		map[string]any{"person_id": "p-exp", "cop_id": "cop-vic", "topics": []string{"grants"}, "level": "expert", "visibility": "cop"}, nil)
	e.must(t, http.StatusCreated, "POST", "/v1/requests", e.member(t, "p-ask"),
		map[string]any{"cop_id": "cop-vic", "person_id": "p-ask", "topics": []string{"grants"}, "question": "Who writes grants?"}, nil)
	e.Publish(t, events.PersonErased{PersonID: "p-exp"}, events.PersonErased{PersonID: "p-ask"})
	testkit.Eventually(t, waitFor, func() error {
		if n := e.processed(t, "on_person_erased"); n != 2 {
			return fmt.Errorf("%d person_erased applied", n)
		}
		return nil
	})
	var left int
	err := e.Pool("knowledge").QueryRow(t.Context(), `SELECT
		(SELECT count(*) FROM expertise WHERE person_id IN ('p-exp', 'p-ask')) +
		(SELECT count(*) FROM requests WHERE person_id IN ('p-exp', 'p-ask') OR question <> '') +
		(SELECT count(*) FROM request_matches WHERE person_id IN ('p-exp', 'p-ask'))`).Scan(&left)
	if err != nil || left != 0 {
		t.Fatalf("%d rows still hold the erased people (%v)", left, err)
	}
	var gaps struct{ Gaps []gap }
	e.must(t, http.StatusOK, "GET", "/v1/gaps?region=vic", e.national(t), nil, &gaps)
	if len(gaps.Gaps) != 1 || gaps.Gaps[0].Topic != "grants" {
		t.Errorf("gaps after the expert left = %+v, want grants", gaps.Gaps)
	}
}
