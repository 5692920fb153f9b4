package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/console/internal/ports"
	"github.com/copnet/copnet/services/console/internal/projection"
)

// twoRegions is the smallest history with a CoP in each of two regions.
func twoRegions(t *testing.T, n *testkit.Node) {
	t.Helper()
	evs := []events.Event{
		events.RegionCreated{RegionID: "north", Name: "Northland"},
		events.RegionCreated{RegionID: "south", Name: "Southland"},
		events.CoPProposed{CoPID: "n1", Region: "north", Name: "Nurses North", Scope: "regional", Topics: []string{}, HostOrganisations: []string{}, Stage: "potential"},
		events.CoPProposed{CoPID: "s1", Region: "south", Name: "Health South", Scope: "regional", Topics: []string{}, HostOrganisations: []string{}, Stage: "potential"},
	}
	n.Publish(t, evs...)
	settled(t, n, len(evs))
}

// The read API's callers: "own" is region north, where CoP n1 is; p1 is a member of no CoP.
var callers = []testkit.Caller{testkit.Anonymous, testkit.National, testkit.HubOwn, testkit.HubOther,
	testkit.CoordOwn, testkit.MemberNone}

var hubs = []testkit.Caller{testkit.National, testkit.HubOwn, testkit.HubOther}

// accessTable is the read API's authorisation rules: network figures are for national and
// the hubs (a hub's scoped to its region), a region's page for national and its own hub.
var accessTable = []testkit.AccessCase[string]{
	{Route: "GET /v1/network/summary", Req: "/v1/network/summary", Want: testkit.Allowed(http.StatusOK, hubs...)},
	{Route: "GET /v1/network/summary.csv", Req: "/v1/network/summary.csv", Want: testkit.Allowed(http.StatusOK, hubs...)},
	{Route: "GET /v1/network/regions/{id}", Req: "/v1/network/regions/north", Want: testkit.Allowed(http.StatusOK, testkit.National, testkit.HubOwn)},
	{Route: "GET /v1/network/overlaps", Req: "/v1/network/overlaps", Want: testkit.Allowed(http.StatusOK, hubs...)},
	{Route: "GET /v1/network/gaps", Req: "/v1/network/gaps", Want: testkit.Allowed(http.StatusOK, hubs...)},
}

// TestScope walks the read API and the pages as each role, in and out of scope.
func TestScope(t *testing.T) {
	n := startConsole(t)
	twoRegions(t, n)
	coordinator := n.Token(t, httpx.Claims{Subject: "c1", Grants: []httpx.Grant{{Role: httpx.RoleCoordinator, CoP: "n1"}}})

	tokens := n.CallerTokens(t, callers, testkit.Scope{Region: "north", OtherRegion: "south", CoP: "n1", NoMember: "p1"})
	var routes []string
	for _, rt := range ports.NewWeb(nil, nil, "", ports.SignIn{}, nil).APIRoutes() {
		routes = append(routes, rt.Method+" "+rt.Path)
	}
	testkit.CheckAccess(t, testkit.AccessMatrix[string]{Routes: routes, Callers: callers, Cases: accessTable,
		Do: func(t *testing.T, c testkit.AccessCase[string], caller testkit.Caller) (int, http.Header, []byte) {
			st, raw := n.Do(t, "GET", c.Req, tokens[caller], nil)
			return st, nil, raw
		}})
	if st, raw := n.Do(t, "GET", "/v1/network/regions/nowhere", tokens[testkit.National], nil); st != http.StatusNotFound {
		t.Errorf("GET /v1/network/regions/nowhere as national: %d %s, want 404", st, raw)
	} else if p := new(httpx.Problem); json.Unmarshal(raw, p) != nil || p.Status != st {
		t.Errorf("GET /v1/network/regions/nowhere: 404 is not a problem body: %s", raw)
	}

	t.Run("a hub's summary is its own region", func(t *testing.T) {
		var s projection.Network
		n.JSON(t, "GET", "/v1/network/summary", hub(t, n, "south"), nil, &s)
		if len(s.Regions) != 1 || s.Regions[0].ID != "south" || s.Totals.CoPs != 1 || len(s.Federation) != 0 {
			t.Errorf("hub south sees %+v", s)
		}
	})

	t.Run("pages", func(t *testing.T) {
		anon := newBrowser(t, n.URL)
		if p := anon.get("/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin?next=%2F" {
			t.Errorf("anonymous GET /: %d %s, want a redirect to /signin", p.status, p.header.Get("Location"))
		}
		south := newBrowser(t, n.URL)
		south.signIn(hub(t, n, "south"))
		for _, path := range []string{"/regions/north", "/cops/n1", "/cops/unknown"} {
			if p := south.get(path); p.status != http.StatusForbidden || !strings.Contains(p.body, "do not let you") {
				t.Errorf("hub south GET %s: %d, want 403", path, p.status)
			}
		}
		// A hub officer of a region nothing has happened in yet gets their page, empty.
		fresh := newBrowser(t, n.URL)
		fresh.signIn(hub(t, n, "east"))
		if p := fresh.get("/regions/east"); p.status != http.StatusOK || !strings.Contains(p.body, "Nothing has happened in region east yet") {
			t.Errorf("hub of a region with no events: %d", p.status)
		}
		if p := south.get("/regions/east"); p.status != http.StatusForbidden {
			t.Errorf("hub south GET a region with no events: %d, want 403", p.status)
		}
		if p := south.get("/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/regions/south" {
			t.Errorf("hub GET /: %d %s, want its region", p.status, p.header.Get("Location"))
		}
		for _, path := range []string{"/regions/south", "/cops/s1"} {
			if p := south.get(path); p.status != http.StatusOK {
				t.Errorf("hub south GET %s: %d", path, p.status)
			}
		}
		coord := newBrowser(t, n.URL)
		coord.signIn(coordinator)
		if p := coord.get("/"); p.header.Get("Location") != "/cops/n1" {
			t.Errorf("coordinator GET /: %d %s, want its CoP", p.status, p.header.Get("Location"))
		}
		if p := coord.get("/cops/n1"); p.status != http.StatusOK {
			t.Errorf("coordinator GET its CoP: %d", p.status)
		}
		for _, path := range []string{"/cops/s1", "/regions/north"} {
			if p := coord.get(path); p.status != http.StatusForbidden {
				t.Errorf("coordinator GET %s: %d, want 403", path, p.status)
			}
		}
	})
}

// TestFormPostsNeedCSRFToken: a form post without the page's CSRF token, or with another,
// is refused with a 403 problem before anything is done.
func TestFormPostsNeedCSRFToken(t *testing.T) {
	n := startConsole(t)
	twoRegions(t, n)
	b := newBrowser(t, n.URL)
	b.signIn(national(t, n))
	b.get("/")
	good := b.cookie("copnet_csrf")
	if good == "" {
		t.Fatal("the page set no CSRF cookie")
	}
	for _, form := range []url.Values{
		{"decision": {"approve"}},
		{"decision": {"approve"}, "csrf": {strings.Repeat("x", len(good))}},
	} {
		res := b.post("/cops/n1/decision", form, nil)
		if res.status != http.StatusForbidden || !strings.HasPrefix(res.header.Get("Content-Type"), "application/problem+json") ||
			!strings.Contains(res.body, "CSRF") {
			t.Errorf("POST /cops/n1/decision %v: %d %s, want a 403 problem naming CSRF", form, res.status, res.body)
		}
	}
}

// TestSignInPageAndCookies: the sign-in page offers the e-mail link with the CSRF token
// (its cookie HttpOnly, SameSite=Strict, Secure over HTTPS) and no paste-a-token form; a
// valid access cookie is a signed-in browser; a browser whose access token is gone but whose
// session lives is sent to membership's refresh and back, anyone else to sign in.
func TestSignInPageAndCookies(t *testing.T) {
	n := startConsole(t)
	twoRegions(t, n)

	b := newBrowser(t, n.URL)
	form := b.get("/signin?next=%2Fregions%2Fnorth")
	csrfCookie := setCookie(t, form.header, "copnet_csrf")
	if !csrfCookie.HttpOnly || csrfCookie.SameSite != http.SameSiteStrictMode || csrfCookie.Secure {
		t.Errorf("CSRF cookie %+v, want HttpOnly, SameSite=Strict, not Secure over http", csrfCookie)
	}
	for _, want := range []string{`action="/auth/email"`, `name="csrf" value="` + csrfCookie.Value + `"`, `name="next" value="/regions/north"`, `id="passkey-signin"`} {
		if !strings.Contains(form.body, want) {
			t.Errorf("the sign-in page lacks %s", want)
		}
	}
	for _, gone := range []string{`name="token"`, "oidc-signin"} {
		if strings.Contains(form.body, gone) {
			t.Errorf("the sign-in page shows %s (no token form; no provider is configured)", gone)
		}
	}
	if p := b.get("/signin?next=https%3A%2F%2Fevil.example%2F"); !strings.Contains(p.body, `name="next" value="/"`) {
		t.Error("an off-site next survived onto the sign-in form")
	}
	tls := newBrowser(t, n.URL)
	res := tls.send("GET", "/signin", nil, map[string]string{"X-Forwarded-Proto": "https"})
	if c := setCookie(t, res.header, "copnet_csrf"); !c.Secure {
		t.Errorf("CSRF cookie over https: %+v, want Secure", c)
	}

	signed := newBrowser(t, n.URL)
	signed.signIn(national(t, n))
	if p := signed.get("/"); p.status != http.StatusOK || !strings.Contains(p.body, "National network") {
		t.Errorf("signed in, GET /: %d", p.status)
	}

	u, _ := url.Parse(n.URL)
	stale := newBrowser(t, n.URL)
	stale.client.Jar.SetCookies(u, []*http.Cookie{{Name: httpx.AccessCookie, Value: "expired-or-forged", Path: "/"},
		{Name: httpx.SessionCookie, Value: "a-session", Path: "/"}})
	if p := stale.get("/regions/north"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/auth/refresh?next=%2Fregions%2Fnorth" {
		t.Errorf("stale access cookie with a session: %d %s, want the refresh", p.status, p.header.Get("Location"))
	}
	anon := newBrowser(t, n.URL)
	anon.client.Jar.SetCookies(u, []*http.Cookie{{Name: httpx.AccessCookie, Value: "expired-or-forged", Path: "/"}})
	if p := anon.get("/regions/north"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin?next=%2Fregions%2Fnorth" {
		t.Errorf("stale access cookie without a session: %d %s, want sign-in", p.status, p.header.Get("Location"))
	}
}

func setCookie(t *testing.T, h http.Header, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s in %v", name, h["Set-Cookie"])
	return nil
}
