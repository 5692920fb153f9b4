package membership_test

import (
	"mime"
	"net/http"
	"strings"
	"testing"
)

// fuzzRoute is one route whose body comes from outside, and who sends it.
type fuzzRoute struct {
	method, path, contentType string
	// token picks the caller that gets furthest into the route's checks.
	token func(e *env, f fixture) string
	seeds []string
}

// fuzzRoutes are membership's routes with a body: JSON for each, CSV for the import.
// {p} {s} {a} {r} are the fixture's people, appointment and removal.
var fuzzRoutes = []fuzzRoute{
	{"POST", "/v1/people", "application/json", func(e *env, _ fixture) string { return e.national() },
		[]string{`{"name":"Ana","email":"ana@example.org","organisation":"Health"}`, `{"name":"","email":"a@b"}`, `{"email":1}`}},
	{"POST", "/v1/cops/{cop}/members", "application/json", func(e *env, _ fixture) string { return e.national() },
		[]string{`{"person_id":"{o}","code_of_practice_version":1}`, `{"person_id":"x","code_of_practice_version":-1}`}},
	{"PUT", "/v1/cops/{cop}/members/{s}/roles", "application/json", func(e *env, _ fixture) string { return e.national() },
		[]string{`{"roles":["working_group"]}`, `{"roles":["coordinator","owner"]}`, `{"roles":null}`}},
	{"POST", "/v1/cops/{cop}/coordinator-appointments", "application/json", func(e *env, _ fixture) string { return e.national() },
		[]string{`{"person_id":"{m}"}`, `{"person_id":""}`}},
	{"POST", "/v1/coordinator-appointments/{a}/objections", "application/json", func(e *env, f fixture) string { return e.person(f.p) },
		[]string{`{"person_id":"{p}","reason":"not yet"}`, `{"person_id":"{p}","reason":"   "}`}},
	{"POST", "/v1/cops/{cop}/removals", "application/json", func(e *env, f fixture) string { return e.person(f.p) },
		[]string{`{"person_id":"{m}","reason":"harassment"}`, `{"person_id":"{p}","reason":""}`}},
	{"POST", "/v1/removals/{r}/votes", "application/json", func(e *env, f fixture) string { return e.person(f.p) },
		[]string{`{"voter_id":"{p}","support":true}`, `{"voter_id":"{p}","support":"yes"}`}},
	{"POST", "/v1/invitations", "application/json", func(e *env, _ fixture) string { return e.hub("vic") },
		[]string{`{"email":"x@example.org","grant":{"role":"member","cop":"{cop}"},"name":"Xi"}`, `{"email":"a@b","grant":{"role":"hub"}}`,
			`{"email":"y@example.org","grant":{"role":"owner","cop":"{cop}"}}`, `{"grant":null}`}},
	{"POST", "/v1/invitations/{i}/accept", "application/json", func(e *env, f fixture) string { return e.person(f.o) },
		[]string{`{"code_of_practice_version":1}`, `{"code_of_practice_version":"1"}`, `{}`}},
	{"POST", "/v1/cops/{cop}/members/{s}/code-of-practice", "application/json", func(e *env, f fixture) string { return e.person(f.s) },
		[]string{`{"code_of_practice_version":1}`, `{"code_of_practice_version":0}`, `{"code_of_practice_version":"2"}`}},
	{"PUT", "/v1/cops/{cop}/registration", "application/json", func(e *env, f fixture) string { return e.coordinator(f.cop) },
		[]string{`{"open":true}`, `{"open":"yes"}`, `{}`}},
	{"POST", "/v1/tokens", "application/json", func(e *env, f fixture) string { return e.person(f.m) },
		[]string{`{"name":"ci","grants":[{"role":"member","cop":"{cop}"}],"expires_in_days":30}`, `{"name":"","grants":null,"expires_in_days":0}`,
			`{"name":"x","grants":[{"role":"national"}],"expires_in_days":366}`}},
	{"POST", "/v1/cops/{cop}/members:import", "text/csv", func(e *env, _ fixture) string { return e.hub("vic") },
		[]string{"name,email\nNew Person,new@example.org\n", "Ana,a@b\n\"broken,x@example.org\n", "a,b,c,d\n"}},
}

func (f fixture) fill(s string) string {
	return strings.NewReplacer("{cop}", f.cop, "{p}", f.p, "{s}", f.s, "{m}", f.m, "{o}", f.o, "{a}", f.a, "{r}", f.r,
		"{i}", f.i, "{t}", f.t).Replace(s)
}

// FuzzRouteBodies sends whatever a client might to every route with a body: the answer is
// never a server error, and every refusal is a problem document. One node serves every
// input of a run, so state accumulates; the property holds whatever it is.
func FuzzRouteBodies(f *testing.F) {
	for i, rt := range fuzzRoutes {
		for _, s := range rt.seeds {
			f.Add(uint8(i), s)
		}
	}
	f.Add(uint8(0), `{"name":"Ana","email":"ana@example.org"} {}`)
	f.Add(uint8(1), `[]`)
	e := start(f)
	e.approve("vic", "cop-f")
	fx := e.fixture("cop-f", 1, true)
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		r := e.in(t).send(rt.token(e.in(t), fx), rt.method, fx.fill(rt.path), rt.contentType, fx.fill(body))
		if r.status >= 500 {
			t.Fatalf("%s", r)
		}
		if r.status >= 400 {
			if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/problem+json" {
				t.Fatalf("%s: Content-Type %q", r, r.header.Get("Content-Type"))
			}
		}
		if r.status < 200 || (r.status >= 300 && r.status < 400) || (r.status == http.StatusOK && len(r.body) == 0) {
			t.Fatalf("%s: unexpected answer", r)
		}
	})
}
