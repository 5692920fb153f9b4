package console_test

// The expertise and question forms as plain posts (no scripts), and what they refuse.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/knowledge"
)

// TestQuestionFormsWorkWithoutScripts: an expert declares and withdraws expertise, an asker
// asks, the expert answers, the asker closes, each by a form post and a redirect; a wrong
// CSRF token, bad input, someone else's expertise, a question one was not routed and a
// closed question are each refused with a page that says why.
func TestQuestionFormsWorkWithoutScripts(t *testing.T) {
	n := startConsole(t, knowledge.Factory)
	n.Publish(t,
		events.RegionCreated{RegionID: "otago", Name: "Otago"},
		events.CoPProposed{CoPID: "cop-otago", Region: "otago", Name: "Otago Catchment Restoration", Scope: "regional", Stage: "potential",
			Topics: []string{"restoration"}, HostOrganisations: []string{"A trust"}},
		events.CoPApproved{CoPID: "cop-otago", Region: "otago"},
		events.CoPProposed{CoPID: "cop-vic", Region: "vic", Name: "Victorian Landcare Practitioners", Scope: "regional", Stage: "potential",
			Topics: []string{"restoration"}, HostOrganisations: []string{"A trust"}},
		events.CoPApproved{CoPID: "cop-vic", Region: "vic"},
		events.MemberJoined{CoPID: "cop-otago", Region: "otago", PersonID: "asker", CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: "cop-vic", Region: "vic", PersonID: "expert", CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: "cop-vic", Region: "vic", PersonID: "other", CodeOfPracticeVersion: 1},
	)
	drained(t, n)
	person := func(id, cop string) (*browser, string) {
		b := newBrowser(t, n.URL)
		b.signIn(n.Token(t, httpx.Claims{Subject: id, Grants: []httpx.Grant{{Role: httpx.RoleMember, CoP: cop}}}))
		if p := b.get("/requests"); p.status != http.StatusOK {
			t.Fatalf("GET /requests as %s: %d", id, p.status)
		}
		return b, b.cookie(httpx.CSRFCookie)
	}
	expert, expertCSRF := person("expert", "cop-vic")
	asker, askerCSRF := person("asker", "cop-otago")
	other, otherCSRF := person("other", "cop-vic")

	declare := url.Values{"cop": {"cop-vic"}, "topics": {"funding"}, "level": {"expert"}, "visibility": {"national"},
		"name": {"Sam Lee"}, "organisation": {"Landcare Victoria"}, "csrf": {"wrong"}}
	if p := expert.post("/me/expertise", declare, nil); p.status != http.StatusForbidden {
		t.Errorf("declaring with a wrong CSRF token: %d, want 403", p.status)
	}
	declare.Set("csrf", expertCSRF)
	declare.Set("topics", " , ")
	if p := expert.post("/me/expertise", declare, nil); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "Topics: name at least one") || !strings.Contains(p.body, `value="Sam Lee"`) {
		t.Errorf("declaring without topics: %d, want the form again saying so, filled in", p.status)
	}
	declare.Set("topics", "funding")
	if p := expert.post("/me/expertise", declare, nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/me/expertise?notice=declared" {
		t.Fatalf("declaring: %d to %q", p.status, p.header.Get("Location"))
	}
	var mine struct {
		Expertise []struct{ ID string } `json:"expertise"`
	}
	n.JSON(t, "GET", "/v1/expertise", n.Member(t, "expert"), nil, &mine)
	if len(mine.Expertise) != 1 {
		t.Fatalf("the expert's expertise: %+v", mine)
	}
	withdraw := "/me/expertise/" + mine.Expertise[0].ID + "/withdraw"
	if p := other.post(withdraw, url.Values{"csrf": {otherCSRF}}, nil); p.status != http.StatusForbidden || !strings.Contains(p.body, "Nothing was withdrawn") {
		t.Errorf("withdrawing someone else's expertise: %d, want 403 saying nothing was withdrawn", p.status)
	}

	ask := url.Values{"csrf": {askerCSRF}, "cop": {"cop-otago"}, "topics": {"funding"}, "question": {strings.Repeat("x", 4001)}}
	if p := asker.post("/requests", ask, nil); p.status != http.StatusBadRequest || !strings.Contains(p.body, "The question: is longer than 4000") ||
		!strings.Contains(p.body, `value="funding"`) {
		t.Errorf("asking too long a question: %d, want the form again saying so, filled in", p.status)
	}
	ask.Set("cop", "cop-vic")
	ask.Set("question", "How do we fund the work after the project period?")
	if p := asker.post("/requests", ask, nil); p.status != http.StatusForbidden || !strings.Contains(p.body, "How do we fund") {
		t.Errorf("asking from a CoP one is not a member of: %d, want knowledge's refusal with the question kept", p.status)
	}
	ask.Set("cop", "cop-otago")
	p := asker.post("/requests", ask, nil)
	where := strings.Split(p.header.Get("Location"), "?")[0]
	if p.status != http.StatusSeeOther || !strings.HasPrefix(where, "/requests/") {
		t.Fatalf("asking: %d to %q", p.status, p.header.Get("Location"))
	}
	if p := other.get(where); p.status != http.StatusForbidden {
		t.Errorf("a member the question was not routed to opens it: %d, want 403", p.status)
	}
	if p := other.post(where+"/answers", url.Values{"csrf": {otherCSRF}, "body": {"Me too"}}, nil); p.status != http.StatusForbidden {
		t.Errorf("a member the question was not routed to answers: %d, want 403", p.status)
	}
	if p := expert.post(where+"/answers", url.Values{"csrf": {expertCSRF}, "body": {"  "}}, nil); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "Your answer: write your answer") {
		t.Errorf("an empty answer: %d, want the page again saying so", p.status)
	}
	if p := expert.post(where+"/answers", url.Values{"csrf": {expertCSRF}, "body": {"Ask your council early."}}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("answering: %d %s", p.status, p.body)
	}
	if p := expert.post(where+"/close", url.Values{"csrf": {expertCSRF}}, nil); p.status != http.StatusForbidden {
		t.Errorf("the expert closes the asker's question: %d, want 403", p.status)
	}
	if p := asker.post(where+"/close", url.Values{"csrf": {askerCSRF}}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("closing: %d %s", p.status, p.body)
	}
	if p := expert.post(where+"/answers", url.Values{"csrf": {expertCSRF}, "body": {"One more thing"}}, nil); p.status != http.StatusConflict ||
		!strings.Contains(p.body, "closed the question") || !strings.Contains(p.body, "One more thing") {
		t.Errorf("answering a closed question: %d, want 409 saying it is closed, the answer kept", p.status)
	}
	if p := asker.get(where); !strings.Contains(p.body, "Ask your council early.") || strings.Contains(p.body, `id="close-form"`) {
		t.Errorf("the closed question shows the answer and no close form: %d", p.status)
	}

	if p := expert.post(withdraw, url.Values{"csrf": {expertCSRF}}, nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/me/expertise?notice=withdrawn" {
		t.Fatalf("withdrawing: %d to %q", p.status, p.header.Get("Location"))
	}
	if p := expert.get("/me/expertise"); !strings.Contains(p.body, `id="nothing-declared"`) {
		t.Errorf("after withdrawing the page still lists expertise")
	}
}
