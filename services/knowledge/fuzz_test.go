package knowledge_test

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
)

// fuzzRoute is one route with a JSON body, and who sends it: the caller that gets furthest
// into the route's checks.
type fuzzRoute struct {
	method, path string
	token        func(e *env, t testing.TB) string
	seeds        []string
}

var fuzzRoutes = []fuzzRoute{
	{"POST", "/v1/topics", func(e *env, t testing.TB) string { return e.national(t) },
		[]string{`{"name":"Young people","synonyms":["youth"]}`, `{"name":"","synonyms":[""]}`}},
	{"POST", "/v1/projects", func(e *env, t testing.TB) string { return e.coordinator(t, "cop-vic") },
		[]string{`{"cop_id":"cop-vic","title":"P","topics":["t"],"communities":[{"place":"au.vic.geelong","group":"carers"}],"starts_on":"2026-01-01","ends_on":"2026-01-02","methods":["survey"]}`,
			`{"cop_id":"cop-vic","title":"P","topics":["t"],"communities":[{"place":"AU..vic","group":""}],"starts_on":"2026-02-30","ends_on":"1900-01-01"}`}},
	{"PUT", "/v1/overlaps/{overlap}", func(e *env, t testing.TB) string { return e.national(t) },
		[]string{`{"status":"acknowledged","note":"talking"}`, `{"status":"open"}`}},
	{"POST", "/v1/expertise", func(e *env, t testing.TB) string { return e.member(t, "person-1") },
		[]string{`{"person_id":"person-1","cop_id":"cop-vic","topics":["grants"],"level":"expert","visibility":"cop"}`,
			`{"person_id":"person-1","topics":["x"],"level":"guru","visibility":"world"}`}},
	{"POST", "/v1/requests", func(e *env, t testing.TB) string { return e.member(t, "person-1") },
		[]string{`{"person_id":"person-1","cop_id":"cop-vic","topics":["grants"],"question":"Who?"}`, `{"person_id":"person-1","cop_id":"nope","topics":[],"question":""}`}},
	{"POST", "/v1/requests/{request}/answers", func(e *env, t testing.TB) string { return e.national(t) },
		[]string{`{"body":"Use a lab."}`, `{"body":""}`}},
	{"POST", "/v1/assets", func(e *env, t testing.TB) string { return e.national(t) },
		[]string{`{"cop_id":"cop-vic","title":"A","url":"https://example.org/a","topics":["t"],"licence":"CC-BY-4.0"}`, `{"cop_id":"cop-vic","title":"A","url":"javascript:alert(1)","topics":["t"]}`}},
}

// FuzzRouteBodies sends whatever a client might to every route with a body: never a server
// error, and every refusal a problem document. One node serves a whole run.
func FuzzRouteBodies(f *testing.F) {
	for i, rt := range fuzzRoutes {
		for _, s := range rt.seeds {
			f.Add(uint8(i), s)
		}
	}
	f.Add(uint8(1), `{"cop_id":"cop-vic"} []`)
	f.Add(uint8(3), `{"person_id":1}`)
	e := start(f)
	e.approve(f, "cop-vic", "vic", "cop-nsw", "nsw")
	e.joined(f, "cop-vic", "vic", "person-1")
	e.must(f, http.StatusCreated, "POST", "/v1/projects", e.national(f),
		project("cop-vic", "A", []string{"x"}, "au.vic", "carers", "2026-01-01", "2026-01-31"), nil)
	e.must(f, http.StatusCreated, "POST", "/v1/projects", e.national(f),
		project("cop-nsw", "B", []string{"y"}, "au.vic.geelong", "carers", "2026-01-10", "2026-01-20"), nil)
	var overlap string
	testkit.Eventually(f, waitFor, func() error {
		var list struct{ Overlaps []overlapView }
		e.must(f, http.StatusOK, "GET", "/v1/overlaps", e.national(f), nil, &list)
		if len(list.Overlaps) != 1 {
			return fmt.Errorf("overlaps: %+v", list.Overlaps)
		}
		overlap = list.Overlaps[0].ID
		return nil
	})
	var req struct{ ID string }
	e.must(f, http.StatusCreated, "POST", "/v1/requests", e.member(f, "person-1"),
		map[string]any{"person_id": "person-1", "cop_id": "cop-vic", "topics": []string{"grants"}, "question": "q"}, &req)
	fill := strings.NewReplacer("{overlap}", overlap, "{request}", req.ID)

	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := fill.Replace(rt.path)
		req, err := http.NewRequest(rt.method, e.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+rt.token(e, t))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s %q → %d %s", rt.method, path, body, res.StatusCode, raw)
		}
		if res.StatusCode >= 400 {
			if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/problem+json" {
				t.Fatalf("%s %s → %d with Content-Type %q", rt.method, path, res.StatusCode, res.Header.Get("Content-Type"))
			}
		}
	})
}
