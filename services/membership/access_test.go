package membership_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/membership/internal/ports"
)

// The callers every route is tried with. "Own" and "other" are relative to the CoP the
// request is about (in region vic); self is the person the request is about or acts for,
// and another is some other person (which fixture people they are, the case says).
const (
	self    testkit.Caller = "the person themselves"
	another testkit.Caller = "another person"
)

var callers = []testkit.Caller{testkit.Anonymous, testkit.National, testkit.HubOwn, testkit.HubOther,
	testkit.CoordOwn, testkit.CoordOther, self, another}

// fixture is a fresh CoP in vic with people in known places: P is in the working group,
// S is a member, M is a plain member, O is registered but no member. A is an open
// coordinator appointment of S and R an open removal of S proposed by W (working group).
// I is national's open invitation of O to become a member, T a personal API token of P.
type fixture struct {
	cop, p, s, m, o, w, a, r, i, t string
}

// accessReq is one request; self and other name the fixture people (p, s, m, o) the
// "self" and "another person" tokens belong to. Paths and bodies use {cop} {p} {s} {m}
// {o} {a} {r} {i} {t} and {n} (a number unique to the case).
type accessReq struct {
	path, body, csv string
	self, other     string
	// fresh leaves out the fixture's open appointment, which would make a new one a 409.
	fresh bool
	// openRegistration opens the CoP's online registration first.
	openRegistration bool
}

// accessTable is membership's authorisation rules.
var accessTable = []testkit.AccessCase[accessReq]{
	{Route: "GET /v1/me", Name: "anyone signed in sees themselves", Req: accessReq{path: "/v1/me", self: "p", other: "m"},
		Want: testkit.Everyone(http.StatusOK).With(testkit.Anonymous, http.StatusUnauthorized)},
	{Route: "POST /v1/people", Name: "national, hubs and people without a token register", Req: accessReq{path: "/v1/people", body: `{"name":"New {n}","email":"new{n}@example.org"}`, self: "o", other: "m"},
		// Anonymous registrations get no id, whether or not the address was taken.
		Want: testkit.Allowed(http.StatusCreated, testkit.National, testkit.HubOwn, testkit.HubOther).With(testkit.Anonymous, http.StatusAccepted)},
	{Route: "GET /v1/people/{id}", Name: "the person and national see a record", Req: accessReq{path: "/v1/people/{p}", self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, self)},
	{Route: "DELETE /v1/people/{id}", Name: "the person and national erase", Req: accessReq{path: "/v1/people/{p}", self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusNoContent, testkit.National, self)},
	{Route: "POST /v1/cops/{id}/members", Name: "the coordinator, the hub and national add a member", Req: accessReq{path: "/v1/cops/{cop}/members", body: `{"person_id":"{o}","code_of_practice_version":1}`, self: "o", other: "m"},
		Want: testkit.Allowed(http.StatusCreated, testkit.National, testkit.HubOwn, testkit.CoordOwn)},
	{Route: "POST /v1/cops/{id}/members", Name: "the person joins by themselves where registration is open", Req: accessReq{path: "/v1/cops/{cop}/members", body: `{"person_id":"{o}","code_of_practice_version":1}`, self: "o", other: "m", openRegistration: true},
		Want: testkit.Allowed(http.StatusCreated, testkit.National, testkit.HubOwn, testkit.CoordOwn, self)},
	{Route: "POST /v1/cops/{id}/members/{person_id}/code-of-practice", Name: "only the member accepts their Code of Practice", Req: accessReq{path: "/v1/cops/{cop}/members/{s}/code-of-practice", body: `{"code_of_practice_version":1}`, self: "s", other: "p"},
		Want: testkit.Allowed(http.StatusOK, self)},
	{Route: "GET /v1/me/memberships", Name: "anyone signed in lists their memberships", Req: accessReq{path: "/v1/me/memberships", self: "m", other: "o"},
		Want: testkit.Everyone(http.StatusOK).With(testkit.Anonymous, http.StatusUnauthorized)},
	{Route: "GET /v1/cops/{id}/invitations", Name: "the coordinator, the hub and national see the CoP's open invitations", Req: accessReq{path: "/v1/cops/{cop}/invitations", self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn)},
	{Route: "GET /v1/cops/{id}/directory", Name: "the members and those who run the CoP read its directory, no one else", Req: accessReq{path: "/v1/cops/{cop}/directory", self: "m", other: "o"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn, self)},
	{Route: "GET /v1/cops/{id}/registration", Name: "anyone signed in sees whether a CoP takes registrations", Req: accessReq{path: "/v1/cops/{cop}/registration", self: "o", other: "m"},
		Want: testkit.Everyone(http.StatusOK).With(testkit.Anonymous, http.StatusUnauthorized)},
	{Route: "PUT /v1/cops/{id}/registration", Name: "the coordinator, the hub and national open registration", Req: accessReq{path: "/v1/cops/{cop}/registration", body: `{"open":true}`, self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn)},
	{Route: "GET /v1/cops/{id}/members", Name: "the working group, the coordinator, the hub and national see the roster", Req: accessReq{path: "/v1/cops/{cop}/members", self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn, self)},
	{Route: "POST /v1/cops/{id}/members:import", Name: "the coordinator, the hub and national import", Req: accessReq{path: "/v1/cops/{cop}/members:import", csv: "name,email\nImported {n},imported{n}@example.org\n", self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn)},
	{Route: "DELETE /v1/cops/{id}/members/{person_id}", Name: "only the member leaves", Req: accessReq{path: "/v1/cops/{cop}/members/{s}", self: "s", other: "p"},
		Want: testkit.Allowed(http.StatusNoContent, self)},
	{Route: "PUT /v1/cops/{id}/members/{person_id}/roles", Name: "the coordinator, the hub and national set roles", Req: accessReq{path: "/v1/cops/{cop}/members/{s}/roles", body: `{"roles":["working_group"]}`, self: "s", other: "m"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn)},
	{Route: "POST /v1/cops/{id}/coordinator-appointments", Name: "the working group, the coordinator, the hub and national propose", Req: accessReq{path: "/v1/cops/{cop}/coordinator-appointments", body: `{"person_id":"{m}"}`, self: "p", other: "m", fresh: true},
		Want: testkit.Allowed(http.StatusCreated, testkit.National, testkit.HubOwn, testkit.CoordOwn, self)},
	{Route: "GET /v1/cops/{id}/coordinator-appointments", Name: "members and those who run the CoP list its appointments", Req: accessReq{path: "/v1/cops/{cop}/coordinator-appointments", self: "m", other: "o"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn, self)},
	{Route: "GET /v1/coordinator-appointments/{id}", Name: "members and those who run the CoP see an appointment", Req: accessReq{path: "/v1/coordinator-appointments/{a}", self: "m", other: "o"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn, self)},
	{Route: "POST /v1/coordinator-appointments/{id}/objections", Name: "a working-group member objects for themselves", Req: accessReq{path: "/v1/coordinator-appointments/{a}/objections", body: `{"person_id":"{p}","reason":"not yet"}`, self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusOK, self)},
	{Route: "POST /v1/cops/{id}/removals", Name: "a working-group member proposes a removal", Req: accessReq{path: "/v1/cops/{cop}/removals", body: `{"person_id":"{m}","reason":"harassment"}`, self: "p", other: "s"},
		Want: testkit.Allowed(http.StatusCreated, self)},
	{Route: "GET /v1/cops/{id}/removals", Name: "the working group and those who run the CoP list its removals", Req: accessReq{path: "/v1/cops/{cop}/removals", self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn, self)},
	{Route: "GET /v1/removals/{id}", Name: "the electorate and those who run the CoP see a removal", Req: accessReq{path: "/v1/removals/{r}", self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn, testkit.CoordOwn, self)},
	{Route: "POST /v1/removals/{id}/votes", Name: "an elector votes for themselves", Req: accessReq{path: "/v1/removals/{r}/votes", body: `{"voter_id":"{p}","support":false}`, self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusOK, self)},
	{Route: "POST /v1/invitations", Name: "national, the hub and the coordinator invite members", Req: accessReq{path: "/v1/invitations", body: `{"email":"inv{n}@example.org","grant":{"role":"member","cop":"{cop}"}}`, self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusCreated, testkit.National, testkit.HubOwn, testkit.CoordOwn)},
	{Route: "POST /v1/invitations", Name: "national and the hub invite coordinators", Req: accessReq{path: "/v1/invitations", body: `{"email":"coord{n}@example.org","grant":{"role":"coordinator","cop":"{cop}"}}`, self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusCreated, testkit.National, testkit.HubOwn)},
	{Route: "POST /v1/invitations", Name: "national invites hub officers", Req: accessReq{path: "/v1/invitations", body: `{"email":"hub{n}@example.org","grant":{"role":"hub","region":"vic"}}`, self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusCreated, testkit.National)},
	{Route: "GET /v1/invitations", Name: "anyone signed in lists what they sent and what waits for them", Req: accessReq{path: "/v1/invitations", self: "o", other: "m"},
		Want: testkit.Everyone(http.StatusOK).With(testkit.Anonymous, http.StatusUnauthorized)},
	{Route: "GET /v1/invitations/{id}", Name: "the inviter (national here) and the invitee see an invitation", Req: accessReq{path: "/v1/invitations/{i}", self: "o", other: "m"},
		Want: testkit.Allowed(http.StatusOK, testkit.National, self)},
	{Route: "POST /v1/invitations/{id}/accept", Name: "only the invitee accepts", Req: accessReq{path: "/v1/invitations/{i}/accept", body: `{"code_of_practice_version":1}`, self: "o", other: "m"},
		Want: testkit.Allowed(http.StatusOK, self)},
	{Route: "POST /v1/invitations/{id}/decline", Name: "only the invitee declines", Req: accessReq{path: "/v1/invitations/{i}/decline", self: "o", other: "m"},
		Want: testkit.Allowed(http.StatusOK, self)},
	{Route: "POST /v1/tokens", Name: "a registered person makes a token for themselves", Req: accessReq{path: "/v1/tokens", body: `{"name":"script {n}","grants":[],"expires_in_days":30}`, self: "p", other: "m"},
		// Operators' tokens name nobody registered: they may not.
		Want: testkit.Allowed(http.StatusCreated, self, another)},
	{Route: "POST /v1/tokens", Name: "a token carries only grants its person holds", Req: accessReq{path: "/v1/tokens", body: `{"name":"script {n}","grants":[{"role":"member","cop":"{cop}"}],"expires_in_days":30}`, self: "m", other: "o"},
		Want: testkit.Allowed(http.StatusCreated, self)},
	{Route: "GET /v1/tokens", Name: "anyone signed in lists their tokens", Req: accessReq{path: "/v1/tokens", self: "p", other: "m"},
		Want: testkit.Everyone(http.StatusOK).With(testkit.Anonymous, http.StatusUnauthorized)},
	{Route: "DELETE /v1/tokens/{id}", Name: "only its person revokes a token", Req: accessReq{path: "/v1/tokens/{t}", self: "p", other: "m"},
		Want: testkit.Allowed(http.StatusNoContent, self)},
}

// TestEveryRouteChecksRoleAndScope walks every route membership serves × every kind of
// caller, each on a fresh CoP of its own so that one request cannot change the next.
func TestEveryRouteChecksRoleAndScope(t *testing.T) {
	e := start(t)
	var routes []string
	for _, rt := range ports.NewHTTP(nil, nil).Routes() {
		routes = append(routes, rt.Method+" "+rt.Path)
	}
	var cops []string
	for i := range len(accessTable) * len(callers) {
		cops = append(cops, fmt.Sprintf("cop-%03d", i))
	}
	e.approve("vic", cops...)
	e.approve("vic", "cop-other")
	n := 0
	testkit.CheckAccess(t, testkit.AccessMatrix[accessReq]{Routes: routes, Callers: callers, Cases: accessTable,
		Do: func(t *testing.T, c testkit.AccessCase[accessReq], caller testkit.Caller) (int, http.Header, []byte) {
			cop := cops[n]
			n++
			e := e.in(t)
			f := e.fixture(cop, n, !c.Req.fresh)
			if c.Req.openRegistration {
				e.must(http.StatusOK, nil, e.national(), "PUT", "/v1/cops/"+cop+"/registration", `{"open":true}`)
			}
			people := map[string]string{"p": f.p, "s": f.s, "m": f.m, "o": f.o}
			tok := e.n.CallerToken(t, caller, testkit.Scope{Region: "vic", OtherRegion: "wa", CoP: cop, OtherCoP: "cop-other",
				People: map[testkit.Caller]string{self: people[c.Req.self], another: people[c.Req.other]}})
			fill := strings.NewReplacer("{cop}", f.cop, "{p}", f.p, "{s}", f.s, "{m}", f.m, "{o}", f.o,
				"{a}", f.a, "{r}", f.r, "{i}", f.i, "{t}", f.t, "{n}", fmt.Sprint(n))
			method, _, _ := strings.Cut(c.Route, " ")
			var r *response
			if c.Req.csv != "" {
				r = e.send(tok, method, fill.Replace(c.Req.path), "text/csv", fill.Replace(c.Req.csv))
			} else {
				r = e.do(tok, method, fill.Replace(c.Req.path), fill.Replace(c.Req.body))
			}
			return r.status, r.header, r.body
		}})
}

// fixture populates an approved CoP: see the fixture type.
func (e *env) fixture(cop string, n int, withAppointment bool) fixture {
	e.t.Helper()
	f := fixture{cop: cop}
	reg := func(who string) string { return e.register(who+" "+cop, fmt.Sprintf("%s-%d@example.org", who, n)) }
	f.p, f.s, f.m, f.o, f.w = reg("p"), reg("s"), reg("m"), reg("o"), reg("w")
	for _, id := range []string{f.p, f.s, f.m, f.w} {
		e.join(cop, id)
	}
	e.workingGroup(cop, f.p)
	e.workingGroup(cop, f.w)
	var ap, rm struct{ ID string }
	if withAppointment {
		e.must(http.StatusCreated, &ap, e.national(), "POST", "/v1/cops/"+cop+"/coordinator-appointments", fmt.Sprintf(`{"person_id":%q}`, f.s))
	}
	e.must(http.StatusCreated, &rm, e.person(f.w), "POST", "/v1/cops/"+cop+"/removals", fmt.Sprintf(`{"person_id":%q,"reason":"x"}`, f.s))
	var inv, tok struct{ ID string }
	e.must(http.StatusCreated, &inv, e.national(), "POST", "/v1/invitations",
		fmt.Sprintf(`{"email":"o-%d@example.org","grant":{"role":"member","cop":%q}}`, n, cop))
	e.must(http.StatusCreated, &tok, e.person(f.p), "POST", "/v1/tokens", `{"name":"fixture","grants":[],"expires_in_days":1}`)
	f.a, f.r, f.i, f.t = ap.ID, rm.ID, inv.ID, tok.ID
	return f
}
