package registry_test

import (
	"bytes"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/registry"
)

// registryBodies are the registry's routes that take a body from outside, with seeds that
// reach their checks. {cop} is a CoP proposed in vic before the run.
var registryBodies = []struct {
	method, path string
	seeds        []string
}{
	{"POST", "/v1/regions", []string{`{"id":"nsw","name":"New South Wales"}`, `{"id":"N SW","name":""}`, `{"id":1}`}},
	{"POST", "/v1/cops", []string{
		`{"name":"Youth mental health","region":"vic","scope":"regional","purpose":"Share practice","topics":["youth"],"meeting":{"frequency":"monthly","duration_minutes":90,"format":["share","discuss","apply"]}}`,
		`{"name":"","region":"nowhere","scope":"galactic","topics":[],"meeting":{"duration_minutes":-5}}`}},
	{"POST", "/v1/cops/{cop}/decision", []string{`{"decision":"approve","reason":"fits"}`, `{"decision":"maybe"}`}},
	{"PUT", "/v1/cops/{cop}/charter", []string{`{"aims":"Learn","terms_of_reference":"Meet monthly","code_of_practice":"Respect"}`, `{"aims":""}`}},
	{"PUT", "/v1/cops/{cop}/stage", []string{`{"stage":"coalescing"}`, `{"stage":"adolescent"}`}},
	{"POST", "/v1/cops/{cop}/retire", []string{`{"reason":"merged"}`, `{"reason":""}`}},
	{"POST", "/v1/applications", []string{
		`{"name":"Carers","region":"vic","scope":"local","purpose":"Share","topics":["carers"],"host_organisations":["Carers Vic"],"meeting":{"frequency":"monthly","when":"Tue 10:00","duration_minutes":90,"format":["Share"]},"contact":{"name":"Mia","email":"mia@example.org"}}`,
		`{"name":"Carers","region":"vic","scope":"local","purpose":"Share","meeting":{"frequency":"monthly","duration_minutes":90},"contact":{"name":"","email":"Mia <mia@example.org>"}}`}},
	{"PUT", "/v1/applications/{app}", []string{
		`{"name":"Carers","scope":"local","purpose":"Share more","meeting":{"frequency":"monthly","duration_minutes":90,"format":[""]},"contact":{"name":"Mia","email":"mia@example.org","role":"peer"}}`,
		`{"name":"Carers","region":"wa","scope":"local","purpose":"Share","meeting":{"frequency":"monthly","duration_minutes":90},"contact":{"name":"Mia","email":"mia@example.org"}}`}},
}

// FuzzRouteBodies sends whatever a client might to every registry route with a body, as
// national (who gets furthest into each route's checks): never a server error, every
// refusal a problem document. One node serves every input of a run, so state accumulates;
// the property holds whatever it is.
func FuzzRouteBodies(f *testing.F) {
	for i, rt := range registryBodies {
		for _, s := range rt.seeds {
			f.Add(uint8(i), s)
		}
	}
	f.Add(uint8(0), `{"id":"tas","name":"Tasmania"} {}`)
	f.Add(uint8(1), "{\"name\":\"a\u0000b\"}")
	n := testkit.StartNode(f, testkit.NodeOptions{}, registry.Factory)
	national := n.Token(f, httpx.Claims{Subject: "sec-1", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
	if st, body := n.Do(f, "POST", "/v1/regions", national, map[string]string{"id": "vic", "name": "Victoria"}); st != http.StatusCreated {
		f.Fatalf("create region: %d %s", st, body)
	}
	var cop struct {
		ID string `json:"id"`
	}
	if st := n.JSON(f, "POST", "/v1/cops", national, map[string]any{"name": "Nurses", "region": "vic", "scope": "regional",
		"purpose": "Share practice", "topics": []string{"triage"},
		"meeting": map[string]any{"frequency": "monthly", "duration_minutes": 90, "format": []string{"share"}}}, &cop); st != http.StatusCreated {
		f.Fatalf("propose: %d", st)
	}
	// {app} is national's own application, sent back for changes, so that an edit reaches
	// the registry's checks (national applied, so national is its applicant).
	var app struct {
		ID string `json:"id"`
	}
	if st := n.JSON(f, "POST", "/v1/applications", national, map[string]any{"name": "Carers", "region": "vic", "scope": "local",
		"purpose": "Share", "meeting": map[string]any{"frequency": "monthly", "duration_minutes": 90},
		"contact": map[string]any{"name": "Mia", "email": "mia@example.org"}}, &app); st != http.StatusCreated {
		f.Fatalf("apply: %d", st)
	}
	if st := n.JSON(f, "POST", "/v1/cops/"+app.ID+"/decision", national, map[string]any{"decision": "request_changes", "reason": "more"}, nil); st != http.StatusOK {
		f.Fatalf("request changes: %d", st)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := registryBodies[int(route)%len(registryBodies)]
		path := strings.NewReplacer("{cop}", cop.ID, "{app}", app.ID).Replace(rt.path)
		req, err := http.NewRequest(rt.method, n.URL+path, bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+national)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d", rt.method, rt.path, body, resp.StatusCode)
		}
		if resp.StatusCode >= 400 {
			if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/problem+json" {
				t.Fatalf("%s %s %q: %d with Content-Type %q", rt.method, rt.path, body, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
	})
}
