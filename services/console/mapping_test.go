package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
)

// waitOverlap waits until knowledge has found an overlap and sets id to it.
func waitOverlap(t *testing.T, n *testkit.Node, id *string) {
	t.Helper()
	testkit.Eventually(t, 2*waitFor, func() error {
		var list struct {
			Overlaps []struct{ ID string }
		}
		if st := n.JSON(t, "GET", "/v1/overlaps", n.National(t), nil, &list); st != http.StatusOK || len(list.Overlaps) == 0 {
			return fmt.Errorf("no overlap yet (%d)", st)
		}
		*id = list.Overlaps[0].ID
		return nil
	})
}

// TestMappingPagesKeepToTheirPeople: through the console's pages, a member of another CoP
// gets a 403 page for a CoP's map and resources, and cannot mark an overlap coordinated
// (its form post is refused, nothing changes); a form without its CSRF token is refused.
func TestMappingPagesKeepToTheirPeople(t *testing.T) {
	n := startMapping(t)
	ana := newBrowser(t, n.URL)
	ana.signIn(officer(t, n, "ana", "cop-west"))
	ben := newBrowser(t, n.URL)
	ben.signIn(officer(t, n, "ben", "cop-barwon"))
	eve := newBrowser(t, n.URL)
	eve.signIn(officer(t, n, "eve", "cop-barwon"))

	// Ana and Ben map the same community through the form.
	for _, p := range []struct {
		b         *browser
		cop, from string
	}{{ana, "cop-west", "2026-03-01"}, {ben, "cop-barwon", "2026-03-15"}} {
		p.b.get("/cops/" + p.cop + "/projects/new")
		form := url.Values{"csrf": {p.b.cookie(httpx.CSRFCookie)}, "title": {"Survey of " + p.cop}, "topics": {"youth"},
			"place": {"au.vic.geelong"}, "group": {"young people"}, "starts_on": {p.from}, "ends_on": {"2026-04-30"}, "methods": {"Survey"}}
		if res := p.b.post("/cops/"+p.cop+"/projects/new", form, nil); res.status != http.StatusSeeOther {
			t.Fatalf("map through the form: %d %s", res.status, res.body)
		}
	}
	if res := ben.get("/cops/cop-west/map"); res.status != http.StatusForbidden {
		t.Errorf("a member of another CoP opens the CoP's map: %d", res.status)
	}
	// The library shows others only what is shared beyond the CoP, and no form to share.
	if res := ben.get("/cops/cop-west/resources"); res.status != http.StatusOK || strings.Contains(res.body, `id="share-form"`) {
		t.Errorf("a member of another CoP opens the CoP's resources: %d, form shown: %v", res.status, strings.Contains(res.body, `id="share-form"`))
	}
	var overlap string
	waitOverlap(t, n, &overlap)
	// Eve, of Ben's CoP, mapped neither project: the overlap is not hers to see or mark.
	eve.get("/cops/cop-barwon/map")
	res := eve.post("/overlaps/"+overlap, url.Values{"csrf": {eve.cookie(httpx.CSRFCookie)}}, nil)
	if res.status != http.StatusNotFound && res.status != http.StatusForbidden {
		t.Errorf("Eve marks the overlap: %d", res.status)
	}
	if res := ben.post("/overlaps/"+overlap, url.Values{"csrf": {"forged"}}, nil); res.status != http.StatusForbidden {
		t.Errorf("a post without the CSRF token: %d", res.status)
	}
	if res := ana.get("/overlaps/" + overlap); res.status != http.StatusOK || !strings.Contains(res.body, "Open") {
		t.Fatalf("Ana's overlap page: %d", res.status)
	}
}
