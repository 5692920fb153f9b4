package scheduling_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/scheduling/internal/ports"
)

// The callers every route is tried with, relative to CoP c1 in region vic and to person m1,
// a member of c1 (testkit.MemberOwn); m9 is a member of no CoP.
var callers = []testkit.Caller{testkit.Anonymous, testkit.National, testkit.HubOwn, testkit.HubOther,
	testkit.CoordOwn, testkit.CoordOther, testkit.MemberOwn, testkit.MemberNone}

var (
	runners    = []testkit.Caller{testkit.National, testkit.HubOwn, testkit.CoordOwn}
	runnersAnd = append(runners[:len(runners):len(runners)], testkit.MemberOwn)
)

// accessReq is one request: session says which session {sid} is: "past" (started, for
// attendance and held) or "upcoming". body is sent as JSON when not nil.
type accessReq struct {
	path, session string
	body          any
}

// accessTable is scheduling's authorisation rules.
var accessTable = []testkit.AccessCase[accessReq]{
	{Route: "POST /v1/cops/{id}/programs", Req: accessReq{path: "/v1/cops/c1/programs", body: programBody("2026-03-03T18:00", 1)}, Want: testkit.Allowed(http.StatusCreated, runners...)},
	{Route: "GET /v1/cops/{id}/sessions", Req: accessReq{path: "/v1/cops/c1/sessions"}, Want: testkit.Allowed(http.StatusOK, runnersAnd...)},
	{Route: "GET /v1/sessions/{id}", Req: accessReq{path: "/v1/sessions/{sid}", session: "upcoming"}, Want: testkit.Allowed(http.StatusOK, runnersAnd...)},
	{Route: "PUT /v1/sessions/{id}", Req: accessReq{path: "/v1/sessions/{sid}", session: "upcoming", body: map[string]any{"topic": "Mentoring"}}, Want: testkit.Allowed(http.StatusOK, runners...)},
	{Route: "POST /v1/sessions/{id}/cancel", Req: accessReq{path: "/v1/sessions/{sid}/cancel", session: "upcoming", body: map[string]any{"reason": "storm"}}, Want: testkit.Allowed(http.StatusOK, runners...)},
	{Route: "PUT /v1/sessions/{id}/hosts", Req: accessReq{path: "/v1/sessions/{sid}/hosts", session: "upcoming", body: map[string]any{"host_group": []string{"m1"}}}, Want: testkit.Allowed(http.StatusOK, runners...)},
	{Route: "PUT /v1/cops/{id}/rotation/{person_id}", Req: accessReq{path: "/v1/cops/c1/rotation/m1", body: map[string]any{"willing": true}}, Want: testkit.Allowed(http.StatusOK, runnersAnd...)},
	{Route: "POST /v1/sessions/{id}/attendance", Req: accessReq{path: "/v1/sessions/{sid}/attendance", session: "past", body: []map[string]any{{"person_id": "m1", "status": "attended"}}}, Want: testkit.Allowed(http.StatusOK, runners...)},
	{Route: "POST /v1/sessions/{id}/held", Req: accessReq{path: "/v1/sessions/{sid}/held", session: "past", body: map[string]any{}}, Want: testkit.Allowed(http.StatusOK, runners...)},
	{Route: "GET /v1/cops/{id}/participation", Req: accessReq{path: "/v1/cops/c1/participation"}, Want: testkit.Allowed(http.StatusOK, runners...)},
	{Route: "GET /v1/cops/{id}/calendar.ics", Req: accessReq{path: "/v1/cops/c1/calendar.ics"}, Want: testkit.Allowed(http.StatusOK, runnersAnd...)},
	{Route: "GET /v1/people/{id}/calendar.ics", Req: accessReq{path: "/v1/people/m1/calendar.ics"}, Want: testkit.Allowed(http.StatusOK, testkit.MemberOwn)},
	{Route: "POST /v1/cops/{id}/calendar-link", Req: accessReq{path: "/v1/cops/c1/calendar-link"}, Want: testkit.Allowed(http.StatusCreated, runners...)},
	{Route: "POST /v1/people/{id}/calendar-link", Req: accessReq{path: "/v1/people/m1/calendar-link"}, Want: testkit.Allowed(http.StatusCreated, testkit.MemberOwn)},
	{Route: "GET /v1/cops/{id}/programs", Req: accessReq{path: "/v1/cops/c1/programs"}, Want: testkit.Allowed(http.StatusOK, runnersAnd...)},
	// Only members answer ahead of a session, each for themselves: running the CoP is not
	// membership.
	{Route: "PUT /v1/sessions/{id}/rsvp", Req: accessReq{path: "/v1/sessions/{sid}/rsvp", session: "upcoming", body: map[string]any{"answer": "coming"}}, Want: testkit.Allowed(http.StatusOK, testkit.MemberOwn)},
	{Route: "GET /v1/sessions/{id}/rsvps", Req: accessReq{path: "/v1/sessions/{sid}/rsvps", session: "upcoming"}, Want: testkit.Allowed(http.StatusOK, runnersAnd...)},
	{Route: "GET /v1/sessions/{id}/attendance", Req: accessReq{path: "/v1/sessions/{sid}/attendance", session: "past"}, Want: testkit.Allowed(http.StatusOK, runners...)},
	{Route: "POST /v1/sessions/{id}/swap", Req: accessReq{path: "/v1/sessions/{sid}/swap", session: "two upcoming", body: map[string]any{"role": "facilitator", "with_session": "{other}"}}, Want: testkit.Allowed(http.StatusOK, runners...)},
	{Route: "GET /v1/me/sessions", Req: accessReq{path: "/v1/me/sessions"}, Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.HubOther,
		testkit.CoordOwn, testkit.CoordOther, testkit.MemberOwn, testkit.MemberNone)},
}

// TestEveryRouteChecksRoleAndScope walks every route × every kind of caller; each request
// that changes a session gets a session of its own.
func TestEveryRouteChecksRoleAndScope(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	e.approve("c2", "vic")
	e.join("c1", "m1")
	tokens := e.n.CallerTokens(t, callers, testkit.Scope{Region: "vic", OtherRegion: "wa",
		CoP: "c1", OtherCoP: "c2", Member: "m1", NoMember: "m9"})
	var routes []string
	for _, rt := range ports.NewHTTP(nil, nil, ports.Feeds{}).Routes() {
		routes = append(routes, rt.Method+" "+rt.Path)
	}
	testkit.CheckAccess(t, testkit.AccessMatrix[accessReq]{Routes: routes, Callers: callers, Cases: accessTable,
		Do: func(t *testing.T, c testkit.AccessCase[accessReq], caller testkit.Caller) (int, http.Header, []byte) {
			path, body := c.Req.path, c.Req.body
			if c.Req.session == "two upcoming" {
				p := e.plan("c1", "2026-03-03T18:00", 2)
				path = strings.ReplaceAll(path, "{sid}", p.Sessions[0].ID)
				body = map[string]any{"role": "facilitator", "with_session": p.Sessions[1].ID}
			} else if c.Req.session != "" {
				// Two weekly sessions: the first before the clock (past), the second after.
				p := e.plan("c1", "2026-02-24T18:00", 2)
				sid := p.Sessions[1].ID
				if c.Req.session == "past" {
					sid = p.Sessions[0].ID
				}
				path = strings.ReplaceAll(path, "{sid}", sid)
			}
			method, _, _ := strings.Cut(c.Route, " ")
			st, raw := e.n.Do(t, method, path, tokens[caller], body)
			return st, nil, raw
		}})
}
