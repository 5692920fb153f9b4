package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/feedback"
	"github.com/copnet/copnet/services/knowledge"
)

// Feedback's learning-priority ranking, as feedback really publishes its results, becomes
// demand in knowledge's gaps: the two services agree on the results_published contract.
func TestLearningPrioritiesFlowFromFeedbackIntoKnowledgeGaps(t *testing.T) {
	n := testkit.StartNode(t, testkit.NodeOptions{}, feedback.Factory, knowledge.Factory)
	members := []string{"p1", "p2", "p3"}
	n.Publish(t, events.CoPApproved{CoPID: "cop-vic", Region: "vic"})
	for _, p := range members {
		n.Publish(t, events.MemberJoined{CoPID: "cop-vic", Region: "vic", PersonID: p, CodeOfPracticeVersion: 1})
	}
	coord := n.Token(t, httpx.Claims{Subject: string(httpx.RoleCoordinator), Grants: []httpx.Grant{{Role: httpx.RoleCoordinator, CoP: "cop-vic"}}})
	var poll struct{ ID string }
	testkit.Eventually(t, 30*time.Second, func() error {
		st, body := n.Do(t, "POST", "/v1/polls", coord, map[string]any{"cop_id": "cop-vic", "kind": "ranking",
			"question": "What should we learn next?", "options": []string{"Facilitation", "Evaluation", "Co-design"},
			"audience": "members", "min_responses": 3, "purpose": "learning_priorities"})
		if st != http.StatusCreated {
			return fmt.Errorf("create poll: %d %s", st, body)
		}
		return json.Unmarshal(body, &poll)
	})
	for _, p := range members {
		tok := n.Token(t, httpx.Claims{Subject: p})
		var ballot struct{ Ballot string }
		testkit.Eventually(t, 30*time.Second, func() error {
			if st := n.JSON(t, "POST", "/v1/polls/"+poll.ID+"/ballots", tok, nil, &ballot); st != http.StatusCreated {
				return fmt.Errorf("ballot for %s: %d", p, st)
			}
			return nil
		})
		answer := []string{"Co-design", "Facilitation", "Evaluation"}
		if st, body := n.Do(t, "POST", "/v1/polls/"+poll.ID+"/responses", "", map[string]any{"ballot": ballot.Ballot, "answer": answer}); st != http.StatusCreated && st != http.StatusNoContent && st != http.StatusOK {
			t.Fatalf("response of %s: %d %s", p, st, body)
		}
	}
	if st, body := n.Do(t, "POST", "/v1/polls/"+poll.ID+"/close", coord, nil); st != http.StatusOK {
		t.Fatalf("close: %d %s", st, body)
	}
	national := n.Token(t, httpx.Claims{Subject: string(httpx.RoleNational), Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
	testkit.Eventually(t, 30*time.Second, func() error {
		var gaps struct {
			Gaps []struct {
				Topic  string   `json:"topic"`
				Demand []string `json:"demand"`
			} `json:"gaps"`
		}
		if st := n.JSON(t, "GET", "/v1/gaps?region=vic", national, nil, &gaps); st != http.StatusOK {
			return fmt.Errorf("gaps: %d", st)
		}
		var topics []string
		for _, g := range gaps.Gaps {
			topics = append(topics, g.Topic)
		}
		if !slices.Contains(topics, "co-design") {
			return fmt.Errorf("the top learning priority is not a gap in vic: %v", topics)
		}
		return nil
	})
}
