package registry_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/registry/internal/ports"
)

// The callers every route is tried with. "Own" and "other" are relative to the CoP the
// request is about, which is in region vic.
const (
	anonymous    = "anonymous"
	national     = "national"
	hubOwn       = "hub of its region"
	hubOther     = "hub of another region"
	coordOwn     = "coordinator of this CoP"
	coordOther   = "coordinator of another CoP"
	memberCaller = "member"
)

var callers = []string{anonymous, national, hubOwn, hubOther, coordOwn, coordOther, memberCaller}

// accessCase is one request to a route in one state of the CoP, and the status each
// caller must get.
type accessCase struct {
	name  string
	state string // what the CoP is before the request: proposed, approved, or approved with a charter
	// target is the request's path ({id} is the CoP) and body.
	path, body string
	want       map[string]int
}

// allowedFor builds the expectations of a route: anonymous callers always get 401, the
// listed callers get ok, everyone else gets 403.
func allowedFor(ok int, allowed ...string) map[string]int {
	want := map[string]int{anonymous: http.StatusUnauthorized}
	for _, c := range callers[1:] {
		want[c] = http.StatusForbidden
	}
	for _, c := range allowed {
		want[c] = ok
	}
	return want
}

// with overrides some expectations.
func with(want map[string]int, caller string, status int) map[string]int {
	out := map[string]int{}
	for k, v := range want {
		out[k] = v
	}
	out[caller] = status
	return out
}

// accessTable is the registry's authorisation rules (internal/app), route by route. It is
// keyed by the route as Routes() lists it, so a new route cannot go untested.
var accessTable = map[string][]accessCase{
	"POST /v1/regions": {{
		name: "national adds regions", path: "/v1/regions", body: `{"id":"{region}","name":"New region"}`,
		want: allowedFor(http.StatusCreated, national),
	}},
	"GET /v1/regions": {{
		name: "anyone signed in lists regions", path: "/v1/regions",
		want: allowedFor(http.StatusOK, national, hubOwn, hubOther, coordOwn, coordOther, memberCaller),
	}},
	"POST /v1/cops": {{
		name: "national and the region's hub propose", path: "/v1/cops", body: proposalBody("vic", "New CoP"),
		want: allowedFor(http.StatusCreated, national, hubOwn),
	}},
	"GET /v1/cops": {{
		name: "a hub lists its own region only", path: "/v1/cops?region=vic",
		want: allowedFor(http.StatusOK, national, hubOwn, coordOwn, coordOther, memberCaller),
	}},
	"GET /v1/cops/{id}": {{
		name: "a running CoP is in everyone's directory but another hub's", state: "approved", path: "/v1/cops/{id}",
		want: allowedFor(http.StatusOK, national, hubOwn, coordOwn, coordOther, memberCaller),
	}, {
		name: "a proposal is hidden from those who do not run it", state: "proposed", path: "/v1/cops/{id}",
		want: with(with(allowedFor(http.StatusOK, national, hubOwn, coordOwn), coordOther, http.StatusNotFound), memberCaller, http.StatusNotFound),
	}},
	"POST /v1/cops/{id}/decision": {{
		name: "national and the region's hub decide", state: "proposed", path: "/v1/cops/{id}/decision", body: `{"decision":"approve"}`,
		want: allowedFor(http.StatusOK, national, hubOwn),
	}},
	"PUT /v1/cops/{id}/charter": {{
		name: "the CoP's coordinator, its hub and national publish", state: "approved", path: "/v1/cops/{id}/charter", body: fmt.Sprintf(charterBody, 1),
		want: allowedFor(http.StatusOK, national, hubOwn, coordOwn),
	}},
	"GET /v1/cops/{id}/charter": {{
		name: "a running CoP's charter is public to the signed-in", state: "charter", path: "/v1/cops/{id}/charter",
		want: allowedFor(http.StatusOK, national, hubOwn, coordOwn, coordOther, memberCaller),
	}, {
		name: "a proposal's draft charter is hidden", state: "proposed charter", path: "/v1/cops/{id}/charter?version=1",
		want: with(with(allowedFor(http.StatusOK, national, hubOwn, coordOwn), coordOther, http.StatusNotFound), memberCaller, http.StatusNotFound),
	}},
	"PUT /v1/cops/{id}/stage": {{
		name: "the CoP's coordinator, its hub and national assess the stage", state: "approved", path: "/v1/cops/{id}/stage", body: `{"stage":"coalescing"}`,
		want: allowedFor(http.StatusOK, national, hubOwn, coordOwn),
	}},
	"POST /v1/cops/{id}/retire": {{
		name: "its hub and national retire a CoP", state: "approved", path: "/v1/cops/{id}/retire", body: `{"reason":"merged"}`,
		want: allowedFor(http.StatusOK, national, hubOwn),
	}},
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
	n := 0
	tried := map[string]bool{}
	for _, rt := range ports.NewHTTP(nil).Routes() {
		key := rt.Method + " " + rt.Path
		cases, ok := accessTable[key]
		if !ok || len(cases) == 0 {
			t.Errorf("route %s is not in the access table: add the status every caller must get", key)
			continue
		}
		tried[key] = true
		for _, tc := range cases {
			for _, caller := range callers {
				want, ok := tc.want[caller]
				if !ok {
					t.Errorf("%s (%s): no expectation for %s", key, tc.name, caller)
					continue
				}
				n++
				region := fmt.Sprintf("r%d", n)
				t.Run(fmt.Sprintf("%s/%s/%s", key, tc.name, caller), func(t *testing.T) {
					e := e.in(t)
					id := e.copInState(tc.state)
					tokens := map[string]string{
						anonymous: "", national: e.national(), hubOwn: e.hub("vic"), hubOther: e.hub("wa"),
						coordOwn: e.coordinator(id), coordOther: e.coordinator(other.ID), memberCaller: e.member(),
					}
					path := strings.ReplaceAll(tc.path, "{id}", id)
					body := strings.ReplaceAll(tc.body, "{region}", region)
					r := e.do(tokens[caller], rt.Method, path, body)
					if r.status != want {
						t.Fatalf("%s as %s: want %d", r, caller, want)
					}
					if want >= 400 {
						r.problem(t, want)
					}
				})
			}
		}
	}
	for key := range accessTable {
		if !tried[key] {
			t.Errorf("the access table has %s, which the registry does not serve", key)
		}
	}
}

// copInState makes a fresh CoP in region vic in the named state, so that one caller's
// request cannot change what the next one sees.
func (e *env) copInState(state string) string {
	e.t.Helper()
	if state == "" {
		return "no-cop" // the route is not about a CoP
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
	forged, err := httpx.HS256{Secret: []byte("someone else's secret")}.Sign(
		httpx.Claims{Subject: "x", Role: httpx.RoleNational}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"forged": forged, "not a JWT": "hello"} {
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
