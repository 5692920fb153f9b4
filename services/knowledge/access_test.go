package knowledge_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/knowledge/internal/ports"
)

// The callers every route is tried with. "Own" and "other" are relative to CoP cop-vic
// (region vic) and to person-1 (testkit.MemberOwn), whom the requests are about. person-1
// and person-2 are members of cop-vic, person-3 of cop-nsw only, person-4 of no CoP
// (membership's events say so).
const anotherMember testkit.Caller = "another member of the CoP"

var callers = []testkit.Caller{testkit.Anonymous, testkit.National, testkit.HubOwn, testkit.HubOther, testkit.CoordOwn,
	testkit.CoordOther, testkit.MemberOwn, anotherMember, testkit.MemberOther, testkit.MemberNone}

var scope = testkit.Scope{Region: "vic", OtherRegion: "wa", CoP: "cop-vic", OtherCoP: "cop-vic2",
	Member: "person-1", OtherMember: "person-3", NoMember: "person-4", People: map[testkit.Caller]string{anotherMember: "person-2"}}

// subjects are the callers' token subjects, for bodies that speak for the caller ({sub}).
var subjects = map[testkit.Caller]string{testkit.National: "sec-1", testkit.HubOwn: "hub-vic", testkit.HubOther: "hub-wa",
	testkit.CoordOwn: "coord-cop-vic", testkit.CoordOther: "coord-cop-vic2", testkit.MemberOwn: "person-1", anotherMember: "person-2",
	testkit.MemberOther: "person-3", testkit.MemberNone: "person-4"}

var (
	signedIn = callers[1:]
	runners  = []testkit.Caller{testkit.National, testkit.HubOwn, testkit.CoordOwn}
	// workers are those who may do a CoP's work: its runners and its members.
	workers = append(runners[:3:3], testkit.MemberOwn, anotherMember)
)

// hidden expects ok for callers and 404 for every other signed-in caller.
func hidden(ok int, allowed ...testkit.Caller) testkit.Expect {
	e := testkit.Allowed(ok, allowed...)
	for _, c := range signedIn {
		if !slices.Contains(allowed, c) {
			e = e.With(c, http.StatusNotFound)
		}
	}
	return e
}

// accessReq is one request: body's {n} is replaced by a number unique to the call, {sub} by
// the caller's subject.
type accessReq struct{ path, body string }

// accessTable is the knowledge service's authorisation rules. {overlap} is an overlap
// between cop-vic and cop-nsw; {request} is a fresh request person-1 raised in cop-vic.
var accessTable = []testkit.AccessCase[accessReq]{
	{Route: "GET /v1/topics", Req: accessReq{"/v1/topics", ""}, Want: testkit.Allowed(http.StatusOK, signedIn...)},
	{Route: "POST /v1/topics", Req: accessReq{"/v1/topics", `{"name":"topic {n}"}`}, Want: testkit.Allowed(http.StatusCreated, testkit.National)},
	{Route: "POST /v1/projects", Req: accessReq{"/v1/projects",
		`{"cop_id":"cop-vic","title":"P{n}","topics":["t{n}"],"communities":[{"place":"au.wa.p{n}","group":"g{n}"}],"starts_on":"2026-01-01","ends_on":"2026-01-02"}`},
		Want: testkit.Allowed(http.StatusCreated, workers...)},
	// A member lists their own projects and overlaps in their CoP (see
	// TestMembersMapTheirOwnWorkAndSeeItsOverlaps).
	{Route: "GET /v1/projects", Req: accessReq{"/v1/projects?cop=cop-vic", ""}, Want: testkit.Allowed(http.StatusOK, workers...)},
	{Route: "GET /v1/overlaps", Req: accessReq{"/v1/overlaps?cop=cop-vic", ""}, Want: testkit.Allowed(http.StatusOK, workers...)},
	{Route: "PUT /v1/overlaps/{id}", Req: accessReq{"/v1/overlaps/{overlap}", `{"status":"acknowledged"}`}, Want: testkit.Allowed(http.StatusOK, runners...)},
	// Declaring expertise and raising requests is for oneself (a body for someone else is
	// 403, see TestOnlyThoseWhoBelongActInACoP), in a CoP one belongs to.
	{Route: "POST /v1/expertise", Req: accessReq{"/v1/expertise", `{"person_id":"{sub}","cop_id":"cop-vic","topics":["t"],"level":"expert","visibility":"cop"}`},
		Want: testkit.Allowed(http.StatusCreated, append(runners[:3:3], testkit.MemberOwn, anotherMember)...)},
	{Route: "POST /v1/requests", Req: accessReq{"/v1/requests", `{"person_id":"{sub}","cop_id":"cop-vic","topics":["t{n}"],"question":"q"}`},
		Want: testkit.Allowed(http.StatusCreated, append(runners[:3:3], testkit.MemberOwn, anotherMember)...)},
	{Route: "POST /v1/requests/{id}/answers", Req: accessReq{"/v1/requests/{request}/answers", `{"body":"a"}`}, Want: testkit.Allowed(http.StatusCreated, runners...)},
	{Route: "POST /v1/requests/{id}/close", Req: accessReq{"/v1/requests/{request}/close", ""}, Want: testkit.Allowed(http.StatusOK, append(runners[:3:3], testkit.MemberOwn)...)},
	// Reading: one's own requests and expertise only; a request by those it concerns.
	{Route: "GET /v1/requests", Req: accessReq{"/v1/requests?filter=mine", ""}, Want: testkit.Allowed(http.StatusOK, signedIn...)},
	{Route: "GET /v1/requests/{id}", Req: accessReq{"/v1/requests/{request}", ""}, Want: testkit.Allowed(http.StatusOK, append(runners[:3:3], testkit.MemberOwn)...)},
	{Route: "GET /v1/expertise", Req: accessReq{"/v1/expertise", ""}, Want: testkit.Allowed(http.StatusOK, signedIn...)},
	{Route: "DELETE /v1/expertise/{id}", Req: accessReq{"/v1/expertise/{expertise}", ""}, Want: testkit.Allowed(http.StatusNoContent, testkit.National, testkit.MemberOwn)},
	{Route: "POST /v1/assets", Req: accessReq{"/v1/assets", `{"cop_id":"cop-vic","title":"A{n}","url":"https://example.org/{n}","topics":["t"],"licence":"CC-BY-4.0"}`},
		Want: testkit.Allowed(http.StatusCreated, workers...)},
	{Route: "POST /v1/assets/files", Req: accessReq{"/v1/assets/files", "multipart"}, Want: testkit.Allowed(http.StatusCreated, workers...)},
	// What a caller may not see does not exist for them: 404, not 403.
	{Route: "GET /v1/assets/{id}/file", Req: accessReq{"/v1/assets/{file}/file", ""}, Want: hidden(http.StatusOK, workers...)},
	{Route: "GET /v1/overlaps/{id}", Req: accessReq{"/v1/overlaps/{overlap}", ""}, Want: hidden(http.StatusOK, runners...)},
	{Route: "GET /v1/assets", Req: accessReq{"/v1/assets?region=vic", ""}, Want: testkit.Allowed(http.StatusOK, signedIn...)},
	{Route: "GET /v1/gaps", Req: accessReq{"/v1/gaps?region=vic", ""}, Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn)},
}

// TestEveryRouteChecksRoleAndScope walks every route the service serves × every kind of
// caller.
func TestEveryRouteChecksRoleAndScope(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic", "cop-vic2", "vic", "cop-nsw", "nsw", "cop-wa", "wa")
	tokens := e.CallerTokens(t, callers, scope)
	e.joined(t, "cop-vic", "vic", "person-1", "person-2")
	e.joined(t, "cop-nsw", "nsw", "person-3")
	e.must(t, http.StatusCreated, "POST", "/v1/projects", tokens[testkit.National],
		project("cop-vic", "A", []string{"x"}, "au.vic", "carers", "2026-01-01", "2026-01-31"), nil)
	e.must(t, http.StatusCreated, "POST", "/v1/projects", tokens[testkit.National],
		project("cop-nsw", "B", []string{"y"}, "au.vic.geelong", "carers", "2026-01-10", "2026-01-20"), nil)
	var overlap string
	testkit.Eventually(t, waitFor, func() error {
		var list struct{ Overlaps []overlapView }
		e.must(t, http.StatusOK, "GET", "/v1/overlaps", tokens[testkit.National], nil, &list)
		if len(list.Overlaps) != 1 {
			return fmt.Errorf("overlaps: %+v", list.Overlaps)
		}
		overlap = list.Overlaps[0].ID
		return nil
	})

	code, raw := upload(t, e, tokens[testkit.MemberOwn], "cop-vic", "cop", "guide.txt", []byte("a guide"))
	if code != http.StatusCreated {
		t.Fatalf("upload → %d %s", code, raw)
	}
	var file struct{ ID string }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}

	var routes []string
	for _, rt := range ports.NewHTTP(nil).Routes() {
		routes = append(routes, rt.Method+" "+rt.Path)
	}
	n := 0
	testkit.CheckAccess(t, testkit.AccessMatrix[accessReq]{Routes: routes, Callers: callers, Cases: accessTable,
		Do: func(t *testing.T, c testkit.AccessCase[accessReq], caller testkit.Caller) (int, http.Header, []byte) {
			n++
			path := strings.NewReplacer("{overlap}", overlap, "{file}", file.ID).Replace(c.Req.path)
			if c.Req.body == "multipart" {
				code, raw := upload(t, e, tokens[caller], "cop-vic", "cop", "f.txt", []byte("text"))
				return code, nil, raw
			}
			if strings.Contains(path, "{request}") {
				var req struct{ ID string }
				e.must(t, http.StatusCreated, "POST", "/v1/requests", tokens[testkit.MemberOwn],
					map[string]any{"person_id": "person-1", "cop_id": "cop-vic", "topics": []string{"nobody declared this"}, "question": "q"}, &req)
				path = strings.ReplaceAll(path, "{request}", req.ID)
			}
			if strings.Contains(path, "{expertise}") {
				var ex struct{ ID string }
				e.must(t, http.StatusCreated, "POST", "/v1/expertise", tokens[testkit.MemberOwn],
					map[string]any{"person_id": "person-1", "topics": []string{"t"}, "level": "expert", "visibility": "national"}, &ex)
				path = strings.ReplaceAll(path, "{expertise}", ex.ID)
			}
			var body any
			if c.Req.body != "" {
				body = strings.NewReplacer("{n}", fmt.Sprint(n), "{sub}", subjects[caller]).Replace(c.Req.body)
			}
			method, _, _ := strings.Cut(c.Route, " ")
			code, raw := e.Do(t, method, path, tokens[caller], body)
			return code, nil, raw
		}})
}

// TestBadTokensAreRefused: a token the node did not sign is 401, never anonymous or a pass.
func TestBadTokensAreRefused(t *testing.T) {
	e := start(t)
	for name, forged := range e.ForgedTokens(t) {
		t.Run(name, func(t *testing.T) {
			e.must(t, http.StatusUnauthorized, "POST", "/v1/topics", forged, map[string]any{"name": "x"}, nil)
		})
	}
}
