package feedback_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/feedback/internal/ports"
)

// The callers every route is tried with. "Own" and "other" are relative to the CoP the
// request is about (cop-own, region vic); cop-other is in the same region. m-own is a
// member of cop-own, m-other of cop-other.
var callers = []testkit.Caller{testkit.Anonymous, testkit.National, testkit.HubOwn, testkit.HubOther,
	testkit.CoordOwn, testkit.CoordOther, testkit.MemberOwn, testkit.MemberOther}

var (
	managers = []testkit.Caller{testkit.National, testkit.HubOwn, testkit.CoordOwn}
	seers    = []testkit.Caller{testkit.National, testkit.HubOwn, testkit.CoordOwn, testkit.MemberOwn}
)

// accessReq is one request in one state. state is what the request needs: "poll" (a
// members' poll of cop-own), "ballot" (that and a ballot of m-own), "open" (an open
// poll), "deck" (a session deck of cop-own), or "" (the evaluation of sess-own is made once for all).
type accessReq struct{ state, path, body string }

// accessTable is the feedback service's authorisation rules.
var accessTable = []testkit.AccessCase[accessReq]{
	{Route: "POST /v1/polls", Req: accessReq{"", "/v1/polls", `{"cop_id":"cop-own","kind":"words","question":"One word?"}`}, Want: testkit.Allowed(http.StatusCreated, managers...)},
	{Route: "GET /v1/polls/{id}", Req: accessReq{"poll", "/v1/polls/{id}", ""}, Want: testkit.Allowed(http.StatusOK, seers...)},
	{Route: "POST /v1/polls/{id}/ballots", Req: accessReq{"poll", "/v1/polls/{id}/ballots", ""}, Want: testkit.Allowed(http.StatusCreated, testkit.MemberOwn)},
	{Route: "POST /v1/polls/{id}/responses", Req: accessReq{"ballot", "/v1/polls/{id}/responses", `{"ballot":"{ballot}","answer":"data"}`}, Want: testkit.Everyone(http.StatusCreated)},
	{Route: "POST /v1/polls/{id}/close", Req: accessReq{"poll", "/v1/polls/{id}/close", ""}, Want: testkit.Allowed(http.StatusOK, managers...)},
	{Route: "GET /v1/polls/{id}/results", Req: accessReq{"poll", "/v1/polls/{id}/results", ""}, Want: testkit.Allowed(http.StatusOK, seers...)},
	{Route: "GET /v1/polls/by-code/{code}/question", Req: accessReq{"open", "/v1/polls/by-code/{code}/question", ""}, Want: testkit.Everyone(http.StatusOK)},
	{Route: "POST /v1/polls/by-code/{code}/responses", Req: accessReq{"open", "/v1/polls/by-code/{code}/responses", `{"device_token":"{device}","answer":"data"}`}, Want: testkit.Everyone(http.StatusCreated)},
	{Route: "GET /v1/cops/{id}/polls", Req: accessReq{"", "/v1/cops/cop-own/polls", ""}, Want: testkit.Allowed(http.StatusOK, seers...)},
	{Route: "GET /v1/sessions/{id}/evaluation", Req: accessReq{"", "/v1/sessions/sess-own/evaluation", ""}, Want: testkit.Allowed(http.StatusOK, seers...)},
	{Route: "GET /v1/cops/{id}/confidence", Req: accessReq{"", "/v1/cops/cop-own/confidence", ""}, Want: testkit.Allowed(http.StatusOK, seers...)},
	{Route: "GET /v1/stage-quiz", Req: accessReq{"", "/v1/stage-quiz", ""}, Want: testkit.Everyone(http.StatusOK)},
	{Route: "POST /v1/cops/{id}/stage-assessments", Req: accessReq{"", "/v1/cops/cop-own/stage-assessments", quizAnswers}, Want: testkit.Allowed(http.StatusCreated, managers...)},
	{Route: "POST /v1/decks", Req: accessReq{"", "/v1/decks", `{"cop_id":"cop-own","title":"S","questions":[{"kind":"words","question":"One word?"}]}`}, Want: testkit.Allowed(http.StatusCreated, managers...)},
	{Route: "GET /v1/decks/{id}", Req: accessReq{"deck", "/v1/decks/{id}", ""}, Want: testkit.Allowed(http.StatusOK, managers...)},
	{Route: "GET /v1/decks/{id}/live", Req: accessReq{"deck", "/v1/decks/{id}/live", ""}, Want: testkit.Allowed(http.StatusOK, managers...)},
	{Route: "POST /v1/decks/{id}/current", Req: accessReq{"deck", "/v1/decks/{id}/current", `{"position":0}`}, Want: testkit.Allowed(http.StatusOK, managers...)},
	{Route: "POST /v1/decks/{id}/close", Req: accessReq{"deck", "/v1/decks/{id}/close", ""}, Want: testkit.Allowed(http.StatusOK, managers...)},
	{Route: "GET /v1/cops/{id}/decks", Req: accessReq{"deck", "/v1/cops/cop-own/decks", ""}, Want: testkit.Allowed(http.StatusOK, managers...)},
	{Route: "GET /v1/polls/{id}/live", Req: accessReq{"open", "/v1/polls/{id}/live", ""}, Want: testkit.Allowed(http.StatusOK, managers...)},
	{Route: "GET /v1/decks/by-code/{code}/current", Req: accessReq{"deck", "/v1/decks/by-code/{code}/current", ""}, Want: testkit.Everyone(http.StatusOK)},
	{Route: "GET /v1/me/polls", Req: accessReq{"poll", "/v1/me/polls", ""}, Want: testkit.Allowed(http.StatusOK, callers[1:]...)},
	{Route: "POST /v1/stage-quiz/score", Req: accessReq{"", "/v1/stage-quiz/score", quizAnswers}, Want: testkit.Everyone(http.StatusOK)},
	{Route: "GET /v1/cops/{id}/stage-assessments", Req: accessReq{"", "/v1/cops/cop-own/stage-assessments", ""}, Want: testkit.Allowed(http.StatusOK, seers...)},
}

var quizAnswers = `{"answers":{"q1":"a","q2":"b","q3":"c","q4":"c","q5":"c","q6":"c","q7":"c","q8":"c","q9":"c","q10":"c"}}`

// TestEveryRouteChecksRoleAndScope walks every route × every kind of caller, each on fresh
// state, so one caller's request cannot change what the next one sees.
func TestEveryRouteChecksRoleAndScope(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-own", "vic")
	e.approve("cop-other", "vic")
	e.join("cop-own", "vic", "m-own")
	e.join("cop-other", "vic", "m-other")
	e.n.Publish(t, events.SessionHeld{SessionID: "sess-own", CoPID: "cop-own", ProgramID: "p", Number: 1, HeldAt: e.clock.Now(), Topics: []string{}})
	testkit.Eventually(t, waitFor, func() error {
		if e.count(`SELECT count(*) FROM polls WHERE session_id = 'sess-own'`) != 1 {
			return fmt.Errorf("no evaluation yet")
		}
		return nil
	})
	tokens := e.n.CallerTokens(t, callers, testkit.Scope{Region: "vic", OtherRegion: "wa",
		CoP: "cop-own", OtherCoP: "cop-other", Member: "m-own", OtherMember: "m-other"})
	var routes []string
	for _, rt := range ports.NewHTTP(nil).Routes() {
		routes = append(routes, rt.Method+" "+rt.Path)
	}
	n := 0
	testkit.CheckAccess(t, testkit.AccessMatrix[accessReq]{Routes: routes, Callers: callers, Cases: accessTable,
		Do: func(t *testing.T, c testkit.AccessCase[accessReq], caller testkit.Caller) (int, http.Header, []byte) {
			n++
			e := e.in(t)
			vars := e.state(c.Req.state)
			vars["{device}"] = fmt.Sprintf("access-device-%06d", n)
			path, body := c.Req.path, c.Req.body
			for k, v := range vars {
				path, body = strings.ReplaceAll(path, k, v), strings.ReplaceAll(body, k, v)
			}
			var payload any
			if body != "" {
				payload = body
			}
			method, _, _ := strings.Cut(c.Route, " ")
			status, raw := e.call(tokens[caller], method, path, payload)
			return status, nil, raw
		}})
}

// state makes what a case needs and returns the placeholders to fill in.
func (e *env) state(state string) map[string]string {
	e.t.Helper()
	vars := map[string]string{}
	switch state {
	case "poll", "ballot":
		p := e.createPoll(choicePoll("cop-own"))
		vars["{id}"] = p.ID
		if state == "ballot" {
			vars["{ballot}"] = e.ballot(p.ID, "m-own")
		}
	case "open":
		p := e.createPoll(choicePoll("cop-own", "audience", "open"))
		vars["{id}"], vars["{code}"] = p.ID, p.Code
	case "deck":
		var d liveDeck
		e.must(http.StatusCreated, &d, e.national(), "POST", "/v1/decks", sessionDeck("cop-own"))
		vars["{id}"], vars["{code}"] = d.ID, d.Code
	}
	return vars
}
