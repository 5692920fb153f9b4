package ports

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/console/internal/projection"
	"github.com/copnet/copnet/services/knowledge"
)

// TestMeRequestsListsWhatAwaitsTheCaller: what /me shows of requests is the open questions
// routed to the caller that they have not answered yet, and their expertise; a knowledge
// service out of reach is said, not a failed page. Knowledge runs for real; the console's
// projection does not run here, so CoPs are named by their ids.
func TestMeRequestsListsWhatAwaitsTheCaller(t *testing.T) {
	n := testkit.StartNode(t, testkit.NodeOptions{}, knowledge.Factory)
	n.Publish(t, events.CoPApproved{CoPID: "cop-otago", Region: "otago"}, events.CoPApproved{CoPID: "cop-vic", Region: "vic"},
		events.MemberJoined{CoPID: "cop-otago", Region: "otago", PersonID: "asker", CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: "cop-vic", Region: "vic", PersonID: "expert", CodeOfPracticeVersion: 1})
	asker, expert := n.Member(t, "asker"), n.Member(t, "expert")
	testkit.Eventually(t, 20*time.Second, func() error {
		if st := n.JSON(t, "POST", "/v1/expertise", expert, map[string]any{"person_id": "expert", "cop_id": "cop-vic",
			"topics": []string{"funding"}, "level": "expert", "visibility": "national"}, nil); st != http.StatusCreated {
			return fmt.Errorf("declare: %d", st)
		}
		return nil
	})
	var ids []string
	for _, q := range []string{"Answered already?", "Still waiting?"} {
		var raised struct{ ID string }
		testkit.Eventually(t, 20*time.Second, func() error {
			if st := n.JSON(t, "POST", "/v1/requests", asker, map[string]any{"person_id": "asker", "cop_id": "cop-otago",
				"topics": []string{"funding"}, "question": q}, &raised); st != http.StatusCreated {
				return fmt.Errorf("raise: %d", st)
			}
			return nil
		})
		ids = append(ids, raised.ID)
	}
	if st := n.JSON(t, "POST", "/v1/requests/"+ids[0]+"/answers", expert, map[string]string{"body": "Yes"}, nil); st != http.StatusCreated {
		t.Fatalf("answer: %d", st)
	}

	w := &Web{apiURL: n.URL, client: &http.Client{Timeout: 10 * time.Second}, store: projection.NewStore(n.Pool("knowledge"), time.Now),
		log: slog.Default()}
	c := caller{claims: httpx.Claims{Subject: "expert", Grants: []httpx.Grant{{Role: httpx.RoleMember, CoP: "cop-vic"}}}, token: expert}
	got := w.MeRequests(httptest.NewRequest(http.MethodGet, "/me", nil), c)
	if got.Error != "" || len(got.Awaiting) != 1 || got.Awaiting[0].ID != ids[1] || got.Awaiting[0].Question != "Still waiting?" ||
		len(got.Expertise) != 1 || got.Expertise[0].Topics != "funding" || got.Expertise[0].Seen != "Anyone in the network" {
		t.Fatalf("MeRequests for the expert: %+v", got)
	}
	c = caller{claims: httpx.Claims{Subject: "asker"}, token: asker}
	if got := w.MeRequests(httptest.NewRequest(http.MethodGet, "/me", nil), c); got.Error != "" || len(got.Awaiting) != 0 || len(got.Expertise) != 0 {
		t.Fatalf("MeRequests for the asker: %+v", got)
	}
	w.apiURL = "http://127.0.0.1:1"
	if got := w.MeRequests(httptest.NewRequest(http.MethodGet, "/me", nil), c); got.Error == "" {
		t.Fatal("an unreachable knowledge service is not said")
	}
}
