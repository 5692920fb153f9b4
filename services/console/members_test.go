package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
)

// csrfOf returns the CSRF token a page's form carries.
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in the page")
	}
	return m[1]
}

// TestMembersPagesWithoutJavaScript: the members' pages as plain HTTP, as a browser without
// JavaScript (or a script) sees them: who is sent where, the per-session link, answering
// once, and forms refused without their CSRF token or from someone who may not.
func TestMembersPagesWithoutJavaScript(t *testing.T) {
	n, evals := membersNode(t, []string{"h-1", "h-2"})

	anon := newBrowser(t, n.URL)
	if r := anon.get("/me"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/signin?") {
		t.Errorf("anonymous /me → %d %s, want sign-in", r.status, r.header.Get("Location"))
	}
	if r := anon.get("/sessions/sess-2/evaluate"); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), url.QueryEscape("/sessions/sess-2/evaluate")) {
		t.Errorf("anonymous evaluation link → %d %s, want sign-in coming back to it", r.status, r.header.Get("Location"))
	}
	quiz := anon.get("/quiz")
	if quiz.status != http.StatusOK {
		t.Fatalf("anonymous /quiz → %d", quiz.status)
	}
	if r := anon.post("/quiz", url.Values{"q1": {"a"}}, nil); r.status != http.StatusForbidden {
		t.Errorf("quiz posted without its CSRF token → %d, want 403", r.status)
	}
	if r := anon.post("/quiz/save", url.Values{"csrf": {csrfOf(t, quiz.body)}, "cop": {"cop-m"}}, nil); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous save → %d, want 401", r.status)
	}

	member := newBrowser(t, n.URL)
	member.signIn(memberToken(t, n, "h-1"))
	if r := member.get("/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/me" {
		t.Errorf("a member at / → %d %s, want their page", r.status, r.header.Get("Location"))
	}
	if r := member.get("/sessions/sess-2/evaluate"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/me/polls/"+evals[1] {
		t.Errorf("the evaluation link → %d %s, want /me/polls/%s", r.status, r.header.Get("Location"), evals[1])
	}
	if r := member.get("/sessions/sess-9/evaluate"); r.status != http.StatusNotFound || !strings.Contains(r.body, "once the session is recorded as held") {
		t.Errorf("an unknown session's link → %d", r.status)
	}
	page := member.get("/me/polls/" + evals[1])
	if page.status != http.StatusOK || !strings.Contains(page.body, "Evaluate session 2") {
		t.Fatalf("answer page → %d", page.status)
	}
	form := url.Values{"confidence": {"4"}, "usefulness": {"5"}, "takeaway": {"peer review"}}
	if r := member.post("/me/polls/"+evals[1], form, nil); r.status != http.StatusForbidden {
		t.Errorf("answer without CSRF → %d, want 403", r.status)
	}
	form.Set("csrf", csrfOf(t, page.body))
	form.Set("ballot", "not a ballot!")
	if r := member.post("/me/polls/"+evals[1], form, nil); r.status != http.StatusBadRequest {
		t.Errorf("a forged ballot field → %d, want 400", r.status)
	}
	form.Del("ballot")
	if r := member.post("/me/polls/"+evals[1], form, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/me?notice=recorded" {
		t.Fatalf("answer → %d %s", r.status, r.header.Get("Location"))
	}
	if r := member.post("/me/polls/"+evals[1], form, nil); r.status != http.StatusConflict || !strings.Contains(r.body, "answered this already") {
		t.Errorf("a second answer → %d, want 409 saying it was answered", r.status)
	}
	if r := member.get("/me"); strings.Contains(r.body, evals[1]) || !strings.Contains(r.body, `data-poll="`+evals[0]+`"`) {
		t.Errorf("on /me after answering session 2: want session 1's evaluation only")
	}
	// An answer the feedback service refuses after the ballot was taken (words that are only
	// punctuation) comes back with the ballot in the form, and the corrected answer spends it.
	page = member.get("/me/polls/" + evals[0])
	bad := url.Values{"csrf": {csrfOf(t, page.body)}, "confidence": {"2"}, "usefulness": {"3"}, "takeaway": {"!!!"}}
	refused := member.post("/me/polls/"+evals[0], bad, nil)
	ballot := regexp.MustCompile(`name="ballot" value="([^"]+)"`).FindStringSubmatch(refused.body)
	if refused.status != http.StatusBadRequest || ballot == nil {
		t.Fatalf("a refused answer → %d, ballot kept: %v", refused.status, ballot != nil)
	}
	bad.Set("takeaway", "triage")
	bad.Set("ballot", ballot[1])
	if r := member.post("/me/polls/"+evals[0], bad, nil); r.status != http.StatusSeeOther {
		t.Errorf("the corrected answer with the kept ballot → %d: %.300s", r.status, r.body)
	}
	if r := member.post("/me/polls/"+evals[0], bad, nil); r.status != http.StatusConflict {
		t.Errorf("the kept ballot spent twice → %d, want 409", r.status)
	}

	// A check-in, answered the same way: a choice and a few words.
	n.Publish(t, events.CheckinDue{CoPID: "cop-m", SessionID: "sess-2", Number: 2})
	var checkin string
	testkit.Eventually(t, waitFor, func() error {
		r := member.get("/me")
		m := regexp.MustCompile(`data-poll="([^"]+)"><a class="task" href="[^"]+"><span class="task-title">Is this CoP still meeting your needs\?`).FindStringSubmatch(r.body)
		if m == nil {
			return fmt.Errorf("no check-in waiting on /me yet")
		}
		checkin = m[1]
		return nil
	})
	page = member.get("/me/polls/" + checkin)
	answer := url.Values{"csrf": {csrfOf(t, page.body)}, "meets_needs": {"partly"}, "change": {"", "more case studies", ""}}
	if r := member.post("/me/polls/"+checkin, answer, nil); r.status != http.StatusSeeOther {
		t.Errorf("check-in answer → %d: %.300s", r.status, r.body)
	}
	if r := member.get("/me"); strings.Contains(r.body, checkin) {
		t.Errorf("the answered check-in is still waiting")
	}
	// A member may take the quiz but not save it for the CoP: feedback refuses, the page says so.
	q := member.get("/quiz")
	save := url.Values{"csrf": {csrfOf(t, q.body)}, "cop": {"cop-m"}}
	for i := 1; i <= 10; i++ {
		save.Set("q"+strconv.Itoa(i), "b")
	}
	if r := member.post("/quiz/save", save, nil); r.status != http.StatusForbidden {
		t.Errorf("a member saving an assessment → %d, want 403", r.status)
	}
	// The CoP's results export is for its coordinator, its hub and national, not members.
	if r := member.get("/cops/cop-m/results.csv"); r.status != http.StatusForbidden {
		t.Errorf("a member's CSV → %d, want 403", r.status)
	}
}

// memberToken is a member of cop-m as after a sign-in: their member grant included.
func memberToken(t *testing.T, n *testkit.Node, person string) string {
	t.Helper()
	return n.Token(t, httpx.Claims{Subject: person, Grants: []httpx.Grant{{Role: httpx.RoleMember, CoP: "cop-m"}}})
}
