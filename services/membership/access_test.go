package membership_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/services/membership/internal/ports"
)

// The callers every route is tried with. "Own" and "other" are relative to the CoP the
// request is about (in region vic); "self" is the person the request is about or acts
// for, and "another person" is a member of the CoP who is not.
const (
	anonymous  = "anonymous"
	national   = "national"
	hubOwn     = "hub of its region"
	hubOther   = "hub of another region"
	coordOwn   = "coordinator of this CoP"
	coordOther = "coordinator of another CoP"
	self       = "the person themselves"
	another    = "another person"
)

var callers = []string{anonymous, national, hubOwn, hubOther, coordOwn, coordOther, self, another}

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

// fixture is a fresh CoP in vic with people in known places: P is in the working group,
// S is a member, M is a plain member, O is registered but no member. A is an open
// coordinator appointment of S and R an open removal of S proposed by W (working group).
type fixture struct {
	cop, p, s, m, o, w, a, r string
}

// accessCase is one request; self and other name the fixture people (p, s, m, o) the
// "self" and "another person" tokens belong to. Paths and bodies use {cop} {p} {s} {m}
// {o} {a} {r} and {n} (a number unique to the case).
type accessCase struct {
	name, path, body, csv string
	self, other           string
	// fresh leaves out the fixture's open appointment, which would make a new one a 409.
	fresh bool
	want  map[string]int
}

var accessTable = map[string]accessCase{
	"POST /v1/people": {name: "national, hubs and people without a token register",
		path: "/v1/people", body: `{"name":"New {n}","email":"new{n}@example.org"}`, self: "o", other: "m",
		want: func() map[string]int {
			w := allowedFor(http.StatusCreated, national, hubOwn, hubOther)
			w[anonymous] = http.StatusAccepted // no id, whether or not the address was taken
			return w
		}()},
	"GET /v1/people/{id}": {name: "the person and national see a record",
		path: "/v1/people/{p}", self: "p", other: "m", want: allowedFor(http.StatusOK, national, self)},
	"DELETE /v1/people/{id}": {name: "the person and national erase",
		path: "/v1/people/{p}", self: "p", other: "m", want: allowedFor(http.StatusNoContent, national, self)},
	"POST /v1/cops/{id}/members": {name: "the person, the coordinator, the hub and national add a member",
		path: "/v1/cops/{cop}/members", body: `{"person_id":"{o}","code_of_practice_version":1}`, self: "o", other: "m",
		want: allowedFor(http.StatusCreated, national, hubOwn, coordOwn, self)},
	"GET /v1/cops/{id}/members": {name: "the coordinator, the hub and national see the roster",
		path: "/v1/cops/{cop}/members", self: "p", other: "m", want: allowedFor(http.StatusOK, national, hubOwn, coordOwn)},
	"POST /v1/cops/{id}/members:import": {name: "the hub and national import",
		path: "/v1/cops/{cop}/members:import", csv: "name,email\nImported {n},imported{n}@example.org\n", self: "p", other: "m",
		want: allowedFor(http.StatusOK, national, hubOwn)},
	"DELETE /v1/cops/{id}/members/{person_id}": {name: "only the member leaves",
		path: "/v1/cops/{cop}/members/{s}", self: "s", other: "p", want: allowedFor(http.StatusNoContent, self)},
	"PUT /v1/cops/{id}/members/{person_id}/roles": {name: "the coordinator, the hub and national set roles",
		path: "/v1/cops/{cop}/members/{s}/roles", body: `{"roles":["working_group"]}`, self: "s", other: "m",
		want: allowedFor(http.StatusOK, national, hubOwn, coordOwn)},
	"POST /v1/cops/{id}/coordinator-appointments": {name: "the working group, the coordinator, the hub and national propose",
		path: "/v1/cops/{cop}/coordinator-appointments", body: `{"person_id":"{m}"}`, self: "p", other: "m", fresh: true,
		want: allowedFor(http.StatusCreated, national, hubOwn, coordOwn, self)},
	"GET /v1/coordinator-appointments/{id}": {name: "members and those who run the CoP see an appointment",
		path: "/v1/coordinator-appointments/{a}", self: "m", other: "o",
		want: allowedFor(http.StatusOK, national, hubOwn, coordOwn, self)},
	"POST /v1/coordinator-appointments/{id}/objections": {name: "a working-group member objects for themselves",
		path: "/v1/coordinator-appointments/{a}/objections", body: `{"person_id":"{p}","reason":"not yet"}`, self: "p", other: "m",
		want: allowedFor(http.StatusOK, self)},
	"POST /v1/cops/{id}/removals": {name: "a working-group member proposes a removal",
		path: "/v1/cops/{cop}/removals", body: `{"person_id":"{m}","reason":"harassment"}`, self: "p", other: "s",
		want: allowedFor(http.StatusCreated, self)},
	"GET /v1/removals/{id}": {name: "the electorate and those who run the CoP see a removal",
		path: "/v1/removals/{r}", self: "p", other: "m", want: allowedFor(http.StatusOK, national, hubOwn, coordOwn, self)},
	"POST /v1/removals/{id}/votes": {name: "an elector votes for themselves",
		path: "/v1/removals/{r}/votes", body: `{"voter_id":"{p}","support":false}`, self: "p", other: "m",
		want: allowedFor(http.StatusOK, self)},
}

// TestEveryRouteChecksRoleAndScope walks every route membership serves × every kind of
// caller, each on a fresh CoP of its own so that one request cannot change the next.
func TestEveryRouteChecksRoleAndScope(t *testing.T) {
	e := start(t)
	routes := ports.NewHTTP(nil, nil).Routes()
	var cops []string
	for i := range len(routes) * len(callers) {
		cops = append(cops, fmt.Sprintf("cop-%03d", i))
	}
	e.approve("vic", cops...)
	e.approve("vic", "cop-other")
	n := 0
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		tc, ok := accessTable[key]
		if !ok {
			t.Errorf("route %s is not in the access table: add the status every caller must get", key)
			continue
		}
		for _, caller := range callers {
			want, ok := tc.want[caller]
			if !ok {
				t.Errorf("%s: no expectation for %s", key, caller)
				continue
			}
			cop := cops[n]
			n++
			t.Run(fmt.Sprintf("%s/%s", key, caller), func(t *testing.T) {
				e := e.in(t)
				f := e.fixture(cop, n, !tc.fresh)
				people := map[string]string{"p": f.p, "s": f.s, "m": f.m, "o": f.o}
				tokens := map[string]string{
					anonymous: "", national: e.national(), hubOwn: e.hub("vic"), hubOther: e.hub("wa"),
					coordOwn: e.coordinator(cop), coordOther: e.coordinator("cop-other"),
					self: e.person(people[tc.self]), another: e.person(people[tc.other]),
				}
				fill := strings.NewReplacer("{cop}", f.cop, "{p}", f.p, "{s}", f.s, "{m}", f.m, "{o}", f.o,
					"{a}", f.a, "{r}", f.r, "{n}", fmt.Sprint(n))
				var r *response
				if tc.csv != "" {
					r = e.send(tokens[caller], rt.Method, fill.Replace(tc.path), "text/csv", fill.Replace(tc.csv))
				} else {
					r = e.do(tokens[caller], rt.Method, fill.Replace(tc.path), fill.Replace(tc.body))
				}
				if r.status != want {
					t.Fatalf("%s as %s: want %d", r, caller, want)
				}
				if want >= 400 {
					r.problem(t, want)
				}
			})
		}
	}
	for key := range accessTable {
		found := false
		for _, rt := range routes {
			found = found || rt.Method+" "+rt.Path == key
		}
		if !found {
			t.Errorf("the access table has %s, which membership does not serve", key)
		}
	}
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
	f.a, f.r = ap.ID, rm.ID
	return f
}
