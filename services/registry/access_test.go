package registry_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/registry/internal/ports"
)

// The callers every route is tried with. "Own" and "other" are relative to the CoP the
// request is about, which is in region vic; the registry knows no memberships, so its
// member (person-1) is a member of no CoP.
var callers = []testkit.Caller{testkit.Anonymous, testkit.National, testkit.HubOwn, testkit.HubOther,
	testkit.CoordOwn, testkit.CoordOther, testkit.MemberNone}

// accessReq is one request to a route in one state of the CoP: state is what the CoP is
// before the request (proposed, approved, or approved with a charter); path's {id} is the
// CoP, body's {region} a fresh region id.
type accessReq struct{ state, path, body string }

// accessTable is the registry's authorisation rules (internal/app), route by route.
var accessTable = []testkit.AccessCase[accessReq]{
	{Route: "POST /v1/regions", Name: "national adds regions",
		Req:  accessReq{path: "/v1/regions", body: `{"id":"{region}","name":"New region"}`},
		Want: testkit.Allowed(http.StatusCreated, testkit.National)},
	{Route: "GET /v1/regions", Name: "anyone signed in lists regions",
		Req:  accessReq{path: "/v1/regions"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.HubOther, testkit.CoordOwn, testkit.CoordOther, testkit.MemberNone)},
	{Route: "POST /v1/cops", Name: "national and the region's hub propose",
		Req:  accessReq{path: "/v1/cops", body: proposalBody("vic", "New CoP")},
		Want: testkit.Allowed(http.StatusCreated, testkit.National, testkit.HubOwn)},
	{Route: "GET /v1/cops", Name: "a hub lists its own region only",
		Req:  accessReq{path: "/v1/cops?region=vic"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn, testkit.CoordOther, testkit.MemberNone)},
	{Route: "GET /v1/cops/{id}", Name: "a running CoP is in everyone's directory but another hub's",
		Req:  accessReq{state: "approved", path: "/v1/cops/{id}"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn, testkit.CoordOther, testkit.MemberNone)},
	{Route: "GET /v1/cops/{id}", Name: "a proposal is hidden from those who do not run it",
		Req:  accessReq{state: "proposed", path: "/v1/cops/{id}"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn).With(testkit.CoordOther, http.StatusNotFound).With(testkit.MemberNone, http.StatusNotFound)},
	{Route: "POST /v1/cops/{id}/decision", Name: "national and the region's hub decide",
		Req:  accessReq{state: "proposed", path: "/v1/cops/{id}/decision", body: `{"decision":"approve"}`},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn)},
	{Route: "PUT /v1/cops/{id}/charter", Name: "the CoP's coordinator, its hub and national publish",
		Req:  accessReq{state: "approved", path: "/v1/cops/{id}/charter", body: fmt.Sprintf(charterBody, 1)},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn)},
	{Route: "GET /v1/cops/{id}/charter", Name: "a running CoP's charter is public to the signed-in",
		Req:  accessReq{state: "charter", path: "/v1/cops/{id}/charter"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn, testkit.CoordOther, testkit.MemberNone)},
	{Route: "GET /v1/cops/{id}/charter", Name: "a proposal's draft charter is hidden",
		Req:  accessReq{state: "proposed charter", path: "/v1/cops/{id}/charter?version=1"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn).With(testkit.CoordOther, http.StatusNotFound).With(testkit.MemberNone, http.StatusNotFound)},
	{Route: "GET /v1/cops/{id}/charter/versions", Name: "a running CoP's charter versions are public to the signed-in",
		Req:  accessReq{state: "charter", path: "/v1/cops/{id}/charter/versions"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn, testkit.CoordOther, testkit.MemberNone)},
	{Route: "GET /v1/cops/{id}/charter/versions", Name: "a proposal's draft charter versions are hidden",
		Req:  accessReq{state: "proposed charter", path: "/v1/cops/{id}/charter/versions"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn).With(testkit.CoordOther, http.StatusNotFound).With(testkit.MemberNone, http.StatusNotFound)},
	{Route: "PUT /v1/cops/{id}/stage", Name: "the CoP's coordinator, its hub and national assess the stage",
		Req:  accessReq{state: "approved", path: "/v1/cops/{id}/stage", body: `{"stage":"coalescing"}`},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn)},
	{Route: "POST /v1/cops/{id}/retire", Name: "its hub and national retire a CoP",
		Req:  accessReq{state: "approved", path: "/v1/cops/{id}/retire", body: `{"reason":"merged"}`},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn)},
	{Route: "POST /v1/applications", Name: "anyone signed in applies",
		Req:  accessReq{path: "/v1/applications", body: applicationBody("vic", "New group", "We meet.")},
		Want: testkit.Allowed(http.StatusCreated, testkit.National, testkit.HubOwn, testkit.HubOther, testkit.CoordOwn, testkit.CoordOther, testkit.MemberNone)},
	{Route: "GET /v1/applications", Name: "anyone signed in lists their own applications",
		Req:  accessReq{path: "/v1/applications"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.HubOther, testkit.CoordOwn, testkit.CoordOther, testkit.MemberNone)},
	{Route: "PUT /v1/applications/{id}", Name: "only the applicant edits: who sees the application is refused, others learn nothing",
		Req: accessReq{state: "changes requested", path: "/v1/applications/{id}", body: applicationBody("", "Edited", "Edited.")},
		// The applicant (applicant-0, none of these callers) resubmits in TestApplicationRoundTrip.
		Want: testkit.Allowed(http.StatusOK).With(testkit.HubOther, http.StatusNotFound).With(testkit.CoordOther, http.StatusNotFound).With(testkit.MemberNone, http.StatusNotFound)},
}

// TestEveryRouteChecksRoleAndScope walks every route the registry serves × every kind of
// caller, each on a CoP of its own in the state the case names.
func TestEveryRouteChecksRoleAndScope(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	e.createRegion("wa")
	// The coordinator of another CoP leads a CoP in the same region, so that a rule that
	// looked at the region instead of the CoP would let it through.
	other := e.propose("vic", "Another CoP")
	e.decide(other.ID, "approve")
	var routes []string
	for _, rt := range ports.NewHTTP(nil).Routes() {
		routes = append(routes, rt.Method+" "+rt.Path)
	}
	n := 0
	testkit.CheckAccess(t, testkit.AccessMatrix[accessReq]{Routes: routes, Callers: callers, Cases: accessTable,
		Do: func(t *testing.T, c testkit.AccessCase[accessReq], caller testkit.Caller) (int, http.Header, []byte) {
			n++
			e := e.in(t)
			id := e.copInState(c.Req.state)
			tok := e.tk.CallerToken(t, caller, testkit.Scope{Region: "vic", OtherRegion: "wa", CoP: id, OtherCoP: other.ID, NoMember: "person-1"})
			path := strings.ReplaceAll(c.Req.path, "{id}", id)
			body := strings.ReplaceAll(c.Req.body, "{region}", fmt.Sprintf("r%d", n))
			method, _, _ := strings.Cut(c.Route, " ")
			r := e.do(tok, method, path, body)
			return r.status, r.header, r.body
		}})
}

// copInState makes a fresh CoP in region vic in the named state, so that one caller's
// request cannot change what the next one sees.
func (e *env) copInState(state string) string {
	e.t.Helper()
	if state == "" {
		return "no-cop" // the route is not about a CoP
	}
	if state == "changes requested" {
		var a application
		e.must(http.StatusCreated, &a, e.tk.Member(e.t, "applicant-0"), "POST", "/v1/applications", applicationBody("vic", "Application under test", "We meet."))
		e.must(http.StatusOK, nil, e.national(), "POST", "/v1/cops/"+a.ID+"/decision", `{"decision":"request_changes","reason":"more"}`)
		return a.ID
	}
	c := e.propose("vic", "CoP under test")
	if strings.HasPrefix(state, "approved") || state == "charter" {
		e.decide(c.ID, "approve")
	}
	if strings.HasSuffix(state, "charter") {
		e.must(http.StatusOK, nil, e.national(), "PUT", "/v1/cops/"+c.ID+"/charter", fmt.Sprintf(charterBody, 1))
	}
	return c.ID
}

// TestBadTokensAreRefused: a token the node did not sign, or that is not a JWT at all, is
// 401 with a bearer challenge, never a downgrade to anonymous or a pass.
func TestBadTokensAreRefused(t *testing.T) {
	e := start(t)
	for name, tok := range e.tk.ForgedTokens(t) {
		r := e.do(tok, "POST", "/v1/regions", `{"id":"vic","name":"Victoria"}`)
		r.problem(t, http.StatusUnauthorized)
		if !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("%s token: WWW-Authenticate %q, want an invalid_token challenge", name, r.header.Get("WWW-Authenticate"))
		}
	}
	r := e.do("", "GET", "/v1/regions", "")
	r.problem(t, http.StatusUnauthorized)
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without a bearer challenge")
	}
	var regions struct {
		Regions []any `json:"regions"`
	}
	e.must(http.StatusOK, &regions, e.national(), "GET", "/v1/regions", "")
	if len(regions.Regions) != 0 {
		t.Errorf("a refused token created %v", regions.Regions)
	}
}

// TestNodeOperatorRoutes exercises the routes the node serves beside the registry's,
// each answer checked against schemas/openapi/ops.yaml: the probes answer without a token,
// and only national may touch the dead letters.
func TestNodeOperatorRoutes(t *testing.T) {
	e := start(t)
	e.must(http.StatusOK, nil, "", "GET", "/healthz", "")
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	e.must(http.StatusOK, &ready, "", "GET", "/readyz", "")
	if ready.Status != "ready" || ready.Checks["postgres:registry"] != "ok" || ready.Checks["nats"] != "ok" {
		t.Errorf("readyz = %+v, want ready with nats and postgres:registry ok", ready)
	}

	var dls struct {
		DeadLetters []any `json:"deadletters"`
	}
	e.must(http.StatusOK, &dls, e.national(), "GET", "/v1/ops/deadletters", "")
	if len(dls.DeadLetters) != 0 {
		t.Errorf("a fresh node has dead letters: %v", dls.DeadLetters)
	}
	e.do("", "GET", "/v1/ops/deadletters", "").problem(t, http.StatusUnauthorized)
	e.do(e.hub("vic"), "GET", "/v1/ops/deadletters", "").problem(t, http.StatusForbidden)
	if p := e.do(e.national(), "GET", "/v1/ops/deadletters?limit=0", "").problem(t, http.StatusBadRequest); !slices.Equal(p.fields(), []string{"limit"}) {
		t.Errorf("limit=0 names %v, want [limit]", p.fields())
	}
	e.do(e.national(), "POST", "/v1/ops/deadletters/1/replay", "").problem(t, http.StatusNotFound)
	if p := e.do(e.national(), "POST", "/v1/ops/deadletters/first/replay", "").problem(t, http.StatusBadRequest); !slices.Equal(p.fields(), []string{"seq"}) {
		t.Errorf("bad seq names %v, want [seq]", p.fields())
	}
	e.do(e.member(), "POST", "/v1/ops/deadletters/1/replay", "").problem(t, http.StatusForbidden)
}
