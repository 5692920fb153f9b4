package knowledge_test

// Reading requests and one's own expertise (issue 18): the asker reads the answers, the
// expert finds what was routed to them, and nobody else reads either.

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

type expertCard struct {
	PersonID     string `json:"person_id"`
	Name         string
	Organisation string
	Description  string
	Withdrawn    bool
}

type requestDetail struct {
	ID         string
	AskerID    string `json:"asker_id"`
	AskedByMe  bool   `json:"asked_by_me"`
	RoutedToMe bool   `json:"routed_to_me"`
	Status     string
	Experts    []expertCard
	Answers    []struct {
		ID, Name, Organisation, Body string
		PersonID                     string `json:"person_id"`
		Mine                         bool
	}
	CanAnswer bool `json:"can_answer"`
	CanClose  bool `json:"can_close"`
}

type requestPage struct {
	Requests []struct {
		ID           string
		Status       string
		Answers      int
		AnsweredByMe bool `json:"answered_by_me"`
	}
	NextCursor string `json:"next_cursor"`
}

// TestTheAskerReadsTheAnswerAndNobodyElseReadsTheRequest plays scenario 6 on the API: an
// Otago member asks about funding after the project period, the Victorian expert (national
// visibility) finds it in their inbox and answers, the asker reads the answer by the
// expert's name and closes the request. Everyone else it does not concern is refused.
func TestTheAskerReadsTheAnswerAndNobodyElseReadsTheRequest(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-otago", "otago", "cop-vic", "vic", "cop-vic2", "vic")
	e.joined(t, "cop-otago", "otago", "asker", "bystander")
	e.joined(t, "cop-vic", "vic", "expert")
	e.joined(t, "cop-vic2", "vic", "other-expert")
	asker, expert, other := e.member(t, "asker"), e.member(t, "expert"), e.member(t, "other-expert")
	e.must(t, http.StatusCreated, "POST", "/v1/expertise", expert, map[string]any{"person_id": "expert", "cop_id": "cop-vic",
		"topics": []string{"funding"}, "level": "expert", "visibility": "national",
		"name": "Vic Expert", "organisation": "Victorian Health", "description": "Twenty years of grant writing"}, nil)
	// Declared on another topic: not routed to this request.
	e.must(t, http.StatusCreated, "POST", "/v1/expertise", other, map[string]any{"person_id": "other-expert", "cop_id": "cop-vic2",
		"topics": []string{"wetlands"}, "level": "expert", "visibility": "national"}, nil)

	var raised struct{ ID string }
	e.must(t, http.StatusCreated, "POST", "/v1/requests", asker, map[string]any{"person_id": "asker", "cop_id": "cop-otago",
		"topics": []string{"funding"}, "question": "How do we fund the work after the project period?"}, &raised)
	id := raised.ID

	var mine, inbox, none requestPage
	e.must(t, http.StatusOK, "GET", "/v1/requests?filter=mine", asker, nil, &mine)
	e.must(t, http.StatusOK, "GET", "/v1/requests?filter=routed&status=open", expert, nil, &inbox)
	e.must(t, http.StatusOK, "GET", "/v1/requests?filter=routed", other, nil, &none)
	if len(mine.Requests) != 1 || mine.Requests[0].ID != id || len(inbox.Requests) != 1 || inbox.Requests[0].ID != id || len(none.Requests) != 0 {
		t.Fatalf("mine %+v, expert's inbox %+v, other expert's inbox %+v", mine, inbox, none)
	}

	// Those it does not concern: a member of the asker's CoP, an expert it was not routed
	// to, another region's hub, another CoP's coordinator.
	for who, tok := range map[string]string{"bystander": e.member(t, "bystander"), "an expert not routed": other,
		"the vic hub": e.hub(t, "vic"), "cop-vic's coordinator": e.coordinator(t, "cop-vic")} {
		if code, raw := e.Do(t, "GET", "/v1/requests/"+id, tok, nil); code != http.StatusForbidden {
			t.Errorf("%s reading the request → %d %s, want 403", who, code, raw)
		}
	}
	e.must(t, http.StatusUnauthorized, "GET", "/v1/requests/"+id, "", nil, nil)
	e.must(t, http.StatusNotFound, "GET", "/v1/requests/no-such-request", asker, nil, nil)
	e.must(t, http.StatusNotFound, "GET", "/v1/requests/"+url.PathEscape("a\x00b"), asker, nil, nil)
	e.must(t, http.StatusForbidden, "POST", "/v1/requests/"+id+"/answers", other, map[string]any{"body": "I was not asked"}, nil)

	var seen requestDetail
	e.must(t, http.StatusOK, "GET", "/v1/requests/"+id, expert, nil, &seen)
	if !seen.RoutedToMe || seen.AskedByMe || !seen.CanAnswer || seen.CanClose || seen.AskerID != "" ||
		len(seen.Experts) != 1 || seen.Experts[0].PersonID != "expert" {
		t.Fatalf("the expert sees %+v", seen)
	}
	e.must(t, http.StatusCreated, "POST", "/v1/requests/"+id+"/answers", expert,
		map[string]any{"body": "Build a sustainability plan with your council from the start."}, nil)

	e.must(t, http.StatusOK, "GET", "/v1/requests/"+id, asker, nil, &seen)
	if !seen.AskedByMe || !seen.CanClose || seen.CanAnswer || len(seen.Experts) != 1 ||
		seen.Experts[0] != (expertCard{PersonID: "expert", Name: "Vic Expert", Organisation: "Victorian Health", Description: "Twenty years of grant writing"}) {
		t.Fatalf("the asker sees %+v", seen)
	}
	if len(seen.Answers) != 1 || seen.Answers[0].Name != "Vic Expert" || seen.Answers[0].Organisation != "Victorian Health" ||
		seen.Answers[0].Body != "Build a sustainability plan with your council from the start." {
		t.Fatalf("the asker reads the answers %+v", seen.Answers)
	}
	// The request's own region's hub oversees it.
	e.must(t, http.StatusOK, "GET", "/v1/requests/"+id, e.hub(t, "otago"), nil, &seen)

	e.must(t, http.StatusOK, "GET", "/v1/requests?filter=routed", expert, nil, &inbox)
	if inbox.Requests[0].Answers != 1 || !inbox.Requests[0].AnsweredByMe {
		t.Fatalf("the expert's inbox after answering: %+v", inbox)
	}
	e.must(t, http.StatusForbidden, "POST", "/v1/requests/"+id+"/close", expert, nil, nil)
	e.must(t, http.StatusOK, "POST", "/v1/requests/"+id+"/close", asker, nil, nil)
	e.must(t, http.StatusConflict, "POST", "/v1/requests/"+id+"/answers", expert, map[string]any{"body": "One more thing"}, nil)
	e.must(t, http.StatusOK, "GET", "/v1/requests/"+id, expert, nil, &seen)
	if seen.Status != "closed" || seen.CanAnswer || len(seen.Answers) != 1 {
		t.Fatalf("closed, the expert sees %+v", seen)
	}
	e.must(t, http.StatusOK, "GET", "/v1/requests?filter=routed&status=open", expert, nil, &inbox)
	if len(inbox.Requests) != 0 {
		t.Fatalf("a closed request still awaits the expert: %+v", inbox)
	}

	// Erased, the expert's card and words go from the request; the question stays the asker's.
	e.Publish(t, events.PersonErased{PersonID: "expert"})
	testkit.Eventually(t, waitFor, func() error {
		_, raw := e.Do(t, "GET", "/v1/requests/"+id, asker, nil)
		if strings.Contains(string(raw), "Vic Expert") || strings.Contains(string(raw), "Victorian Health") || strings.Contains(string(raw), "sustainability plan") {
			return fmt.Errorf("the erased expert still shows: %s", raw)
		}
		return nil
	})

	for _, bad := range []string{"filter=everyone", "", "filter=mine&status=pending", "filter=mine&cursor=nonsense", "filter=mine&limit=0"} {
		if code, raw := e.Do(t, "GET", "/v1/requests?"+bad, asker, nil); code != http.StatusBadRequest {
			t.Errorf("GET /v1/requests?%s → %d %s, want 400", bad, code, raw)
		}
	}
}

// TestRequestPagesReturnEveryRowOnce: paging through the asker's requests and the expert's
// inbox three at a time returns each request exactly once, newest first.
func TestRequestPagesReturnEveryRowOnce(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-otago", "otago", "cop-vic", "vic")
	e.joined(t, "cop-otago", "otago", "asker")
	e.joined(t, "cop-vic", "vic", "expert")
	asker, expert := e.member(t, "asker"), e.member(t, "expert")
	e.must(t, http.StatusCreated, "POST", "/v1/expertise", expert, map[string]any{"person_id": "expert", "cop_id": "cop-vic",
		"topics": []string{"funding"}, "level": "expert", "visibility": "national"}, nil)
	var raised []string
	for range 8 {
		var q struct{ ID string }
		e.must(t, http.StatusCreated, "POST", "/v1/requests", asker, map[string]any{"person_id": "asker", "cop_id": "cop-otago",
			"topics": []string{"funding"}, "question": "How?"}, &q)
		raised = append(raised, q.ID)
	}
	slices.Reverse(raised)
	for who, walk := range map[string]struct{ filter, token string }{"asker": {"mine", asker}, "expert": {"routed", expert}} {
		var got []string
		cursor, pages := "", 0
		for {
			var p requestPage
			e.must(t, http.StatusOK, "GET", "/v1/requests?filter="+walk.filter+"&limit=3&cursor="+url.QueryEscape(cursor), walk.token, nil, &p)
			for _, r := range p.Requests {
				got = append(got, r.ID)
			}
			pages++
			if cursor = p.NextCursor; cursor == "" {
				break
			}
			if pages > 5 {
				t.Fatalf("%s: paging does not end: %v", who, got)
			}
		}
		if !slices.Equal(got, raised) || pages != 3 {
			t.Fatalf("%s paged %d pages %v, want %v", who, pages, got, raised)
		}
	}
}

// TestAPersonSeesAndWithdrawsTheirOwnExpertise: only their own, and once withdrawn no new
// request is routed to it.
func TestAPersonSeesAndWithdrawsTheirOwnExpertise(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-otago", "otago", "cop-vic", "vic")
	e.joined(t, "cop-otago", "otago", "asker")
	e.joined(t, "cop-vic", "vic", "expert")
	asker, expert := e.member(t, "asker"), e.member(t, "expert")
	var declared struct{ ID string }
	e.must(t, http.StatusCreated, "POST", "/v1/expertise", expert, map[string]any{"person_id": "expert", "cop_id": "cop-vic",
		"topics": []string{"funding"}, "level": "expert", "visibility": "national", "description": "Grants"}, &declared)
	e.must(t, http.StatusBadRequest, "POST", "/v1/expertise", expert, map[string]any{"person_id": "expert", "cop_id": "cop-vic",
		"topics": []string{"funding"}, "level": "expert", "visibility": "national", "description": strings.Repeat("x", 501)}, nil)

	var list struct {
		Expertise []struct {
			ID, Description string
			Topics          []string
		}
	}
	e.must(t, http.StatusOK, "GET", "/v1/expertise", expert, nil, &list)
	if len(list.Expertise) != 1 || list.Expertise[0].ID != declared.ID || list.Expertise[0].Description != "Grants" {
		t.Fatalf("the expert's own expertise: %+v", list)
	}
	e.must(t, http.StatusOK, "GET", "/v1/expertise", asker, nil, &list)
	if len(list.Expertise) != 0 {
		t.Fatalf("the asker sees someone else's expertise: %+v", list)
	}
	e.must(t, http.StatusForbidden, "DELETE", "/v1/expertise/"+declared.ID, asker, nil, nil)
	e.must(t, http.StatusNotFound, "DELETE", "/v1/expertise/no-such", expert, nil, nil)
	e.must(t, http.StatusNoContent, "DELETE", "/v1/expertise/"+declared.ID, expert, nil, nil)
	e.must(t, http.StatusOK, "GET", "/v1/expertise", expert, nil, &list)
	if len(list.Expertise) != 0 {
		t.Fatalf("withdrawn expertise still listed: %+v", list)
	}
	var q struct{ Experts []any }
	e.must(t, http.StatusCreated, "POST", "/v1/requests", asker, map[string]any{"person_id": "asker", "cop_id": "cop-otago",
		"topics": []string{"funding"}, "question": "How?"}, &q)
	if len(q.Experts) != 0 {
		t.Fatalf("a request is routed to withdrawn expertise: %+v", q.Experts)
	}
}
