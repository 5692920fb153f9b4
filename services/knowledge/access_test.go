package knowledge_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/knowledge/internal/ports"
)

// The callers every route is tried with. "Own" and "other" are relative to CoP cop-vic
// (region vic) and to person-1, whom the requests are about. person-1 and person-2 are
// members of cop-vic, person-3 of cop-nsw only, person-4 of no CoP (membership's events
// say so).
const (
	anonymous       = "anonymous"
	national        = "national"
	hubOwn          = "hub of vic"
	hubOther        = "hub of wa"
	coordOwn        = "coordinator of cop-vic"
	coordOther      = "coordinator of cop-vic2"
	memberSelf      = "member person-1"
	memberOther     = "member person-2"
	memberElsewhere = "member person-3 of cop-nsw"
	memberNone      = "person-4, member of no CoP"
)

var callers = []string{anonymous, national, hubOwn, hubOther, coordOwn, coordOther, memberSelf, memberOther, memberElsewhere, memberNone}

// subjects are the callers' token subjects, for bodies that speak for the caller ({sub}).
var subjects = map[string]string{national: "sec-1", hubOwn: "hub-vic", hubOther: "hub-wa", coordOwn: "coord-cop-vic",
	coordOther: "coord-cop-vic2", memberSelf: "person-1", memberOther: "person-2", memberElsewhere: "person-3", memberNone: "person-4"}

// allowedFor: anonymous callers get 401, the listed callers ok, everyone else 403.
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

var signedIn = callers[1:]

type accessCase struct {
	path string
	body string // {n} is replaced by a number unique to the call, {sub} by the caller's subject
	want map[string]int
}

// accessTable is the knowledge service's authorisation rules, keyed by the route as
// Routes() lists it, so a new route cannot go untested. {overlap} is an overlap between
// cop-vic and cop-nsw; {request} is a fresh request person-1 raised in cop-vic.
var accessTable = map[string]accessCase{
	"GET /v1/topics":  {"/v1/topics", "", allowedFor(http.StatusOK, signedIn...)},
	"POST /v1/topics": {"/v1/topics", `{"name":"topic {n}"}`, allowedFor(http.StatusCreated, national)},
	"POST /v1/projects": {"/v1/projects",
		`{"cop_id":"cop-vic","title":"P{n}","topics":["t{n}"],"communities":[{"place":"au.wa.p{n}","group":"g{n}"}],"starts_on":"2026-01-01","ends_on":"2026-01-02"}`,
		allowedFor(http.StatusCreated, national, hubOwn, coordOwn)},
	"GET /v1/projects":      {"/v1/projects?cop=cop-vic", "", allowedFor(http.StatusOK, national, hubOwn, coordOwn)},
	"GET /v1/overlaps":      {"/v1/overlaps?cop=cop-vic", "", allowedFor(http.StatusOK, national, hubOwn, coordOwn)},
	"PUT /v1/overlaps/{id}": {"/v1/overlaps/{overlap}", `{"status":"acknowledged"}`, allowedFor(http.StatusOK, national, hubOwn, coordOwn)},
	// Declaring expertise and raising requests is for oneself (a body for someone else is
	// 403, see TestOnlyThoseWhoBelongActInACoP), in a CoP one belongs to.
	"POST /v1/expertise": {"/v1/expertise", `{"person_id":"{sub}","cop_id":"cop-vic","topics":["t"],"level":"expert","visibility":"cop"}`,
		allowedFor(http.StatusCreated, national, hubOwn, coordOwn, memberSelf, memberOther)},
	"POST /v1/requests": {"/v1/requests", `{"person_id":"{sub}","cop_id":"cop-vic","topics":["t{n}"],"question":"q"}`,
		allowedFor(http.StatusCreated, national, hubOwn, coordOwn, memberSelf, memberOther)},
	"POST /v1/requests/{id}/answers": {"/v1/requests/{request}/answers", `{"body":"a"}`, allowedFor(http.StatusCreated, national, hubOwn, coordOwn)},
	"POST /v1/requests/{id}/close":   {"/v1/requests/{request}/close", "", allowedFor(http.StatusOK, national, hubOwn, coordOwn, memberSelf)},
	"POST /v1/assets": {"/v1/assets", `{"cop_id":"cop-vic","title":"A{n}","url":"https://example.org/{n}","topics":["t"],"licence":"CC-BY-4.0"}`,
		allowedFor(http.StatusCreated, national, hubOwn, coordOwn)},
	"GET /v1/assets": {"/v1/assets?region=vic", "", allowedFor(http.StatusOK, signedIn...)},
	"GET /v1/gaps":   {"/v1/gaps?region=vic", "", allowedFor(http.StatusOK, national, hubOwn)},
}

// TestEveryRouteChecksRoleAndScope walks every route the service serves × every kind of
// caller.
func TestEveryRouteChecksRoleAndScope(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic", "cop-vic2", "vic", "cop-nsw", "nsw", "cop-wa", "wa")
	tokens := map[string]string{
		anonymous: "", national: e.national(t), hubOwn: e.hub(t, "vic"), hubOther: e.hub(t, "wa"),
		coordOwn: e.coordinator(t, "cop-vic"), coordOther: e.coordinator(t, "cop-vic2"),
		memberSelf: e.member(t, "person-1"), memberOther: e.member(t, "person-2"),
		memberElsewhere: e.member(t, "person-3"), memberNone: e.member(t, "person-4"),
	}
	e.joined(t, "cop-vic", "vic", "person-1", "person-2")
	e.joined(t, "cop-nsw", "nsw", "person-3")
	e.must(t, http.StatusCreated, "POST", "/v1/projects", tokens[national],
		project("cop-vic", "A", []string{"x"}, "au.vic", "carers", "2026-01-01", "2026-01-31"), nil)
	e.must(t, http.StatusCreated, "POST", "/v1/projects", tokens[national],
		project("cop-nsw", "B", []string{"y"}, "au.vic.geelong", "carers", "2026-01-10", "2026-01-20"), nil)
	var overlap string
	testkit.Eventually(t, waitFor, func() error {
		var list struct{ Overlaps []overlapView }
		e.must(t, http.StatusOK, "GET", "/v1/overlaps", tokens[national], nil, &list)
		if len(list.Overlaps) != 1 {
			return fmt.Errorf("overlaps: %+v", list.Overlaps)
		}
		overlap = list.Overlaps[0].ID
		return nil
	})

	n := 0
	tried := map[string]bool{}
	for _, rt := range ports.NewHTTP(nil).Routes() {
		key := rt.Method + " " + rt.Path
		tc, ok := accessTable[key]
		if !ok {
			t.Errorf("route %s is not in the access table: add the status every caller must get", key)
			continue
		}
		tried[key] = true
		for _, caller := range callers {
			want, ok := tc.want[caller]
			if !ok {
				t.Errorf("%s: no expectation for %s", key, caller)
				continue
			}
			n++
			t.Run(key+"/"+caller, func(t *testing.T) {
				path := strings.ReplaceAll(tc.path, "{overlap}", overlap)
				if strings.Contains(path, "{request}") {
					var req struct{ ID string }
					e.must(t, http.StatusCreated, "POST", "/v1/requests", tokens[memberSelf],
						map[string]any{"person_id": "person-1", "cop_id": "cop-vic", "topics": []string{"nobody declared this"}, "question": "q"}, &req)
					path = strings.ReplaceAll(path, "{request}", req.ID)
				}
				var body any
				if tc.body != "" {
					body = strings.NewReplacer("{n}", fmt.Sprint(n), "{sub}", subjects[caller]).Replace(tc.body)
				}
				code, raw := e.Do(t, rt.Method, path, tokens[caller], body)
				if code != want {
					t.Fatalf("%s %s as %s → %d %s, want %d", rt.Method, path, caller, code, raw, want)
				}
				if want >= 400 && !strings.Contains(string(raw), fmt.Sprintf(`"status":%d`, want)) {
					t.Errorf("not a problem document: %s", raw)
				}
			})
		}
	}
	for key := range accessTable {
		if !tried[key] {
			t.Errorf("the access table has %s, which the service does not serve", key)
		}
	}
}

// TestBadTokensAreRefused: a token the node did not sign is 401, never anonymous or a pass.
func TestBadTokensAreRefused(t *testing.T) {
	e := start(t)
	forged, err := httpx.HS256{Secret: []byte("someone else's secret 0123456789")}.Sign(httpx.Claims{Subject: "x", Role: httpx.RoleNational}, 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	e.must(t, http.StatusUnauthorized, "POST", "/v1/topics", forged, map[string]any{"name": "x"}, nil)
}
