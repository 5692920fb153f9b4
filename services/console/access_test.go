package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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
		if p := anon.get("/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin" {
			t.Errorf("anonymous GET /: %d %s, want a redirect to /signin", p.status, p.header.Get("Location"))
		}
		south := newBrowser(t, n.URL)
		south.signIn(hub(t, n, "south"))
		for _, path := range []string{"/regions/north", "/cops/n1", "/cops/unknown"} {
			if p := south.get(path); p.status != http.StatusForbidden || !strings.Contains(p.body, "do not let you") {
				t.Errorf("hub south GET %s: %d, want 403", path, p.status)
			}
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
	good := b.cookie("copnet_csrf")
	posts := []struct {
		path string
		form url.Values
	}{
		{"/cops/n1/decision", url.Values{"decision": {"approve"}}},
		{"/cops/n1/decision", url.Values{"decision": {"approve"}, "csrf": {strings.Repeat("x", len(good))}}},
		{"/signout", url.Values{}},
		{"/signin", url.Values{"token": {national(t, n)}}},
	}
	for _, p := range posts {
		res := b.post(p.path, p.form, nil)
		if res.status != http.StatusForbidden || !strings.HasPrefix(res.header.Get("Content-Type"), "application/problem+json") ||
			!strings.Contains(res.body, "CSRF") {
			t.Errorf("POST %s %v: %d %s, want a 403 problem naming CSRF", p.path, p.form, res.status, res.body)
		}
	}
	if b.cookie("copnet_session") == "" {
		t.Error("a refused sign-out still signed the person out")
	}
	// With the token, sign-out goes through.
	if res := b.post("/signout", url.Values{"csrf": {good}}, nil); res.status != http.StatusSeeOther || b.cookie("copnet_session") != "" {
		t.Errorf("sign-out with the CSRF token: %d, session cookie %q", res.status, b.cookie("copnet_session"))
	}
}

// TestSignInCookie: pasting a token sets an HttpOnly, SameSite=Strict session cookie, Secure
// when the browser came over HTTPS, living no longer than the token; a bad token sets nothing.
func TestSignInCookie(t *testing.T) {
	n := startConsole(t)
	twoRegions(t, n)
	tok := national(t, n)

	b := newBrowser(t, n.URL)
	form := b.get("/signin")
	csrfCookie := setCookie(t, form.header, "copnet_csrf")
	if !csrfCookie.HttpOnly || csrfCookie.SameSite != http.SameSiteStrictMode {
		t.Errorf("CSRF cookie %+v, want HttpOnly and SameSite=Strict", csrfCookie)
	}
	if !strings.Contains(form.body, `name="csrf" value="`+csrfCookie.Value+`"`) {
		t.Error("the sign-in form does not carry the CSRF token")
	}

	bad := b.post("/signin", url.Values{"token": {"not-a-token"}, "csrf": {csrfCookie.Value}}, nil)
	if bad.status != http.StatusUnauthorized || b.cookie("copnet_session") != "" {
		t.Errorf("bad token: %d, session %q", bad.status, b.cookie("copnet_session"))
	}

	res := b.post("/signin", url.Values{"token": {tok}, "csrf": {csrfCookie.Value}}, nil)
	session := setCookie(t, res.header, "copnet_session")
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure || session.Path != "/" {
		t.Errorf("session cookie over http: %+v, want HttpOnly, SameSite=Strict, not Secure, Path=/", session)
	}
	if until := time.Until(session.Expires); until <= 0 || until > time.Hour+time.Minute {
		t.Errorf("session cookie expires in %s, want with the token (an hour)", until)
	}
	if p := b.get("/"); p.status != http.StatusOK || !strings.Contains(p.body, "National network") {
		t.Errorf("signed in, GET /: %d", p.status)
	}

	tls := newBrowser(t, n.URL)
	tls.get("/signin")
	res = tls.post("/signin", url.Values{"token": {tok}, "csrf": {tls.cookie("copnet_csrf")}}, map[string]string{"X-Forwarded-Proto": "https"})
	if c := setCookie(t, res.header, "copnet_session"); !c.Secure {
		t.Errorf("session cookie over https: %+v, want Secure", c)
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
