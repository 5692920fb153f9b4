package scheduling_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/services/scheduling/internal/ports"
)

// The callers every route is tried with; "own" and "other" are relative to CoP c1 in
// region vic and to person m1, a member of c1.
const (
	anonymous   = "anonymous"
	national    = "national"
	hubOwn      = "hub of its region"
	hubOther    = "hub of another region"
	coordOwn    = "coordinator of this CoP"
	coordOther  = "coordinator of another CoP in the same region"
	memberOwn   = "member of this CoP (the person)"
	memberOther = "member of no CoP"
)

var callers = []string{anonymous, national, hubOwn, hubOther, coordOwn, coordOther, memberOwn, memberOther}

// allowed builds a route's expectations: anonymous 401, the listed callers ok, others 403.
func allowed(ok int, who ...string) map[string]int {
	want := map[string]int{anonymous: http.StatusUnauthorized}
	for _, c := range callers[1:] {
		want[c] = http.StatusForbidden
	}
	for _, c := range who {
		want[c] = ok
	}
	return want
}

var runners = []string{national, hubOwn, coordOwn}

type accessCase struct {
	// session: which session {sid} is: "past" (started, for attendance and held) or
	// "upcoming". body is sent as JSON when not nil.
	path, session string
	body          any
	want          map[string]int
}

// accessTable is scheduling's authorisation rules, keyed by route as Routes() lists them,
// so a route added without a row fails the test.
var accessTable = map[string]accessCase{
	"POST /v1/cops/{id}/programs":            {path: "/v1/cops/c1/programs", body: programBody("2026-03-03T18:00", 1), want: allowed(http.StatusCreated, runners...)},
	"GET /v1/cops/{id}/sessions":             {path: "/v1/cops/c1/sessions", want: allowed(http.StatusOK, append(runners, memberOwn)...)},
	"GET /v1/sessions/{id}":                  {path: "/v1/sessions/{sid}", session: "upcoming", want: allowed(http.StatusOK, append(runners, memberOwn)...)},
	"PUT /v1/sessions/{id}":                  {path: "/v1/sessions/{sid}", session: "upcoming", body: map[string]any{"topic": "Mentoring"}, want: allowed(http.StatusOK, runners...)},
	"POST /v1/sessions/{id}/cancel":          {path: "/v1/sessions/{sid}/cancel", session: "upcoming", body: map[string]any{"reason": "storm"}, want: allowed(http.StatusOK, runners...)},
	"PUT /v1/sessions/{id}/hosts":            {path: "/v1/sessions/{sid}/hosts", session: "upcoming", body: map[string]any{"host_group": []string{"m1"}}, want: allowed(http.StatusOK, runners...)},
	"PUT /v1/cops/{id}/rotation/{person_id}": {path: "/v1/cops/c1/rotation/m1", body: map[string]any{"willing": true}, want: allowed(http.StatusOK, append(runners, memberOwn)...)},
	"POST /v1/sessions/{id}/attendance":      {path: "/v1/sessions/{sid}/attendance", session: "past", body: []map[string]any{{"person_id": "m1", "status": "attended"}}, want: allowed(http.StatusOK, runners...)},
	"POST /v1/sessions/{id}/held":            {path: "/v1/sessions/{sid}/held", session: "past", body: map[string]any{}, want: allowed(http.StatusOK, runners...)},
	"GET /v1/cops/{id}/participation":        {path: "/v1/cops/c1/participation", want: allowed(http.StatusOK, runners...)},
	"GET /v1/cops/{id}/calendar.ics":         {path: "/v1/cops/c1/calendar.ics", want: allowed(http.StatusOK, append(runners, memberOwn)...)},
	"GET /v1/people/{id}/calendar.ics":       {path: "/v1/people/m1/calendar.ics", want: allowed(http.StatusOK, memberOwn)},
	"POST /v1/cops/{id}/calendar-link":       {path: "/v1/cops/c1/calendar-link", want: allowed(http.StatusCreated, runners...)},
	"POST /v1/people/{id}/calendar-link":     {path: "/v1/people/m1/calendar-link", want: allowed(http.StatusCreated, memberOwn)},
}

// TestEveryRouteChecksRoleAndScope walks every route × every kind of caller; each request
// that changes a session gets a session of its own.
func TestEveryRouteChecksRoleAndScope(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	e.approve("c2", "vic")
	e.join("c1", "m1")
	tokens := map[string]string{
		anonymous: "", national: e.national(), hubOwn: e.hub("vic"), hubOther: e.hub("wa"),
		coordOwn: e.coordinator("c1"), coordOther: e.coordinator("c2"),
		memberOwn: e.member("m1"), memberOther: e.member("m9"),
	}
	for _, rt := range ports.NewHTTP(nil, nil, ports.Feeds{}).Routes() {
		route := rt.Method + " " + rt.Path
		c, ok := accessTable[route]
		if !ok {
			t.Errorf("%s has no row in the access table", route)
			continue
		}
		t.Run(route, func(t *testing.T) {
			for _, caller := range callers {
				path := c.path
				if c.session != "" {
					// Two weekly sessions: the first before the clock (past), the second after.
					p := e.plan("c1", "2026-02-24T18:00", 2)
					sid := p.Sessions[1].ID
					if c.session == "past" {
						sid = p.Sessions[0].ID
					}
					path = strings.ReplaceAll(path, "{sid}", sid)
				}
				st, raw := e.n.Do(t, rt.Method, path, tokens[caller], c.body)
				if st != c.want[caller] {
					t.Errorf("%s as %s → %d %s, want %d", path, caller, st, raw, c.want[caller])
				}
			}
		})
	}
	if len(accessTable) != len(ports.NewHTTP(nil, nil, ports.Feeds{}).Routes()) {
		t.Errorf("the access table has rows for routes nobody serves")
	}
}
