package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/feedback"
	"github.com/copnet/copnet/services/knowledge"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
	"github.com/copnet/copnet/services/scheduling"
)

// figures counts what the demo left in every service, through the API.
type figures struct {
	Regions                              []string
	CoPs, Approved, Chartered            int
	Members, Sessions, Projects, Working int
	Overlaps                             []string
}

func (e *env) figures() figures {
	e.t.Helper()
	var f figures
	var regs struct {
		Regions []Region `json:"regions"`
	}
	e.must(http.StatusOK, &regs, "GET", "/v1/regions", e.national(), nil)
	for _, r := range regs.Regions {
		f.Regions = append(f.Regions, r.ID)
	}
	var cops struct {
		CoPs []CoP `json:"cops"`
	}
	e.must(http.StatusOK, &cops, "GET", "/v1/cops?limit=500", e.national(), nil)
	for _, c := range cops.CoPs {
		f.CoPs++
		if c.Status == "approved" {
			f.Approved++
		}
		if c.CharterVersion == 1 {
			f.Chartered++
		}
		var ms struct {
			Members []struct {
				Roles []string `json:"roles"`
			} `json:"members"`
		}
		e.must(http.StatusOK, &ms, "GET", "/v1/cops/"+c.ID+"/members", e.national(), nil)
		f.Members += len(ms.Members)
		for _, m := range ms.Members {
			if slices.Contains(m.Roles, "working_group") {
				f.Working++
			}
		}
		var ss struct {
			Sessions []object `json:"sessions"`
		}
		e.must(http.StatusOK, &ss, "GET", "/v1/cops/"+c.ID+"/sessions", e.national(), nil)
		f.Sessions += len(ss.Sessions)
	}
	var ps struct {
		Projects []object `json:"projects"`
	}
	e.must(http.StatusOK, &ps, "GET", "/v1/projects", e.national(), nil)
	f.Projects = len(ps.Projects)
	var ov struct {
		Overlaps []struct {
			Kind    string   `json:"kind"`
			Regions []string `json:"regions"`
		} `json:"overlaps"`
	}
	e.must(http.StatusOK, &ov, "GET", "/v1/overlaps", e.national(), nil)
	for _, o := range ov.Overlaps {
		f.Overlaps = append(f.Overlaps, o.Kind+" "+strings.Join(o.Regions, ","))
	}
	slices.Sort(f.Overlaps)
	return f
}

func TestSeedDemoBuildsTwoRegionsAndRerunsAsExists(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: seeds the whole demo network twice")
	}
	e := start(t, registry.Factory, membership.Factory, scheduling.Factory, knowledge.Factory, feedback.Factory, console.Factory)

	secret := writeFile(t, "auth-secret", string(e.n.Secret))
	out, err := e.call(e.national(), cmdSeed, "demo", "--auth-secret-file", secret)
	if err != nil {
		t.Fatalf("seed demo: %v\n%s", err, out)
	}
	t.Logf("first run:\n%s", out)
	// Overlap detection runs on project_mapped events.
	testkit.Eventually(t, waitFor, func() error {
		if f := e.figures(); !containsAll(f.Overlaps, "duplication wa", "fatigue vic", "fatigue vic,wa") {
			return fmt.Errorf("overlaps %q, want %d", f.Overlaps, demoOverlaps)
		}
		return nil
	})
	got := e.figures()
	roster, sessions, projects := 0, 0, 0
	for _, d := range demoCoPs {
		roster += len(d.Roster)
		if d.Program != nil {
			sessions += d.Program.Sessions + len(demoHistories[d.Name].Attended)
		}
		projects += len(d.Projects)
	}
	want := figures{Regions: []string{"vic", "wa"}, CoPs: len(demoCoPs), Approved: len(demoCoPs), Chartered: len(demoCoPs),
		Members: roster, Sessions: sessions, Projects: projects, Working: 3,
		Overlaps: got.Overlaps}
	if !slices.Equal(got.Regions, want.Regions) || got.CoPs != want.CoPs || got.Approved != want.Approved ||
		got.Chartered != want.Chartered || got.Members != want.Members || got.Sessions != want.Sessions ||
		got.Projects != want.Projects || got.Working != want.Working {
		t.Errorf("after seeding: %+v, want %+v", got, want)
	}
	for _, region := range []string{"vic", "wa"} {
		var cops struct {
			CoPs []CoP `json:"cops"`
		}
		e.must(http.StatusOK, &cops, "GET", "/v1/cops?region="+region, e.national(), nil)
		if len(cops.CoPs) != 2 {
			t.Errorf("region %s has %d CoPs, want 2", region, len(cops.CoPs))
		}
	}

	e.checkHistory(t)

	// The console's national page, signed in as national, shows both regions.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	// Holding a national access token in the cookie a sign-in ends with.
	base, _ := url.Parse(e.n.URL)
	jar.SetCookies(base, []*http.Cookie{{Name: httpx.AccessCookie, Value: e.national(), Path: "/"}})
	testkit.Eventually(t, waitFor, func() error {
		resp, err := browser.Get(e.n.URL + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		page, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		for _, r := range demoRegions {
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), r.Name) {
				return fmt.Errorf("national page (%d) does not show %s yet", resp.StatusCode, r.Name)
			}
		}
		return nil
	})

	// Again: everything is found and reported as existing; nothing is added.
	code, out, stderr := e.cli(e.national(), "seed", "demo", "--auth-secret-file", secret)
	if code != exitOK {
		t.Fatalf("second seed: exit %d\n%s%s", code, out, stderr)
	}
	t.Logf("second run:\n%s", out)
	for _, word := range []string{"created", "proposed as", "approved\n", "published", "planned", "mapped", "added", "attended", "answers", "ranked"} {
		if strings.Contains(out, word) {
			t.Errorf("second run still says %q:\n%s", word, out)
		}
	}
	if n := strings.Count(out, "exists"); n < len(demoRegions)+3*len(demoCoPs) {
		t.Errorf("second run reports %d things as existing:\n%s", n, out)
	}
	if again := e.figures(); !slices.Equal(again.Regions, got.Regions) || again.CoPs != got.CoPs || again.Members != got.Members ||
		again.Sessions != got.Sessions || again.Projects != got.Projects || again.Working != got.Working ||
		!slices.Equal(again.Overlaps, got.Overlaps) {
		t.Errorf("second run changed the network: %+v, was %+v", again, got)
	}
}

func TestSeedNeedsNationalAndTheDemoName(t *testing.T) {
	e := start(t, registry.Factory)
	if code, _, stderr := e.cli(e.national(), "seed"); code != exitUsage {
		t.Errorf("seed without a name → %d %q", code, stderr)
	}
	if code, _, stderr := e.cli(e.national(), "seed", "prod"); code != exitUsage {
		t.Errorf("seed prod → %d %q", code, stderr)
	}
	code, _, stderr := e.cli(e.hub("vic"), "seed", "demo")
	if code != exitFail || !strings.Contains(stderr, "copctl: region vic\n403 Forbidden: ") {
		t.Errorf("seed as a hub → exit %d, stderr %q", code, stderr)
	}
}

// TestDemoMatchesTheSeeds pins the demo network to what issue 9 lists.
func TestDemoMatchesTheSeeds(t *testing.T) {
	regions := map[string]bool{}
	var healthPromotion, council, network, consumer bool
	for _, d := range demoCoPs {
		regions[d.Region] = true
		orgs := map[string]bool{}
		for _, p := range d.Roster {
			orgs[p.Organisation] = true
		}
		switch {
		case len(d.Hosts) == 6 && len(orgs) == 6 && d.Program != nil && d.Program.Sessions == 7 &&
			slices.Equal(d.Program.Format, []string{"share", "discuss", "apply"}):
			healthPromotion = true
		case d.Scope == "local" && len(d.Hosts) == 1 && strings.Contains(d.Purpose, "internal"):
			council = true
		case len(d.Hosts) == 24 && len(orgs) == 24:
			network = true
		case strings.Contains(d.Name, "consumer engagement") && len(d.WorkingGroup) > 0:
			consumer = true
		}
	}
	if !healthPromotion || !council || !network || !consumer || !regions["vic"] || !regions["wa"] {
		t.Errorf("demo: health promotion %v, council %v, network of 24 %v, consumer engagement %v, regions %v",
			healthPromotion, council, network, consumer, regions)
	}
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// checkHistory waits until the console's summary shows what the demo's history is for:
// sessions held in the last 90 days, attendance falling in vic, confidence rising in wa,
// an overlap across regions, and a gap in wa that vic can supply.
func (e *env) checkHistory(t *testing.T) {
	t.Helper()
	type region struct {
		ID              string    `json:"id"`
		SessionsHeld90d int       `json:"sessions_held_90d"`
		AttendanceTrend []float64 `json:"attendance_trend"`
		ConfidenceTrend []float64 `json:"confidence_trend"`
	}
	var summary struct {
		Regions  []region `json:"regions"`
		Overlaps []struct {
			Regions []string `json:"regions"`
		} `json:"overlaps"`
		Gaps []struct {
			Region           string   `json:"region"`
			Topic            string   `json:"topic"`
			SupplyingRegions []string `json:"supplying_regions"`
		} `json:"gaps"`
	}
	testkit.Eventually(t, waitFor, func() error {
		e.must(http.StatusOK, &summary, "GET", "/v1/network/summary", e.national(), nil)
		by := map[string]region{}
		for _, r := range summary.Regions {
			by[r.ID] = r
		}
		vic, wa := by["vic"], by["wa"]
		if vic.SessionsHeld90d == 0 || wa.SessionsHeld90d == 0 {
			return fmt.Errorf("sessions held in 90 days: vic %d, wa %d", vic.SessionsHeld90d, wa.SessionsHeld90d)
		}
		if a := vic.AttendanceTrend; len(a) < 6 || a[len(a)-1] >= a[0] {
			return fmt.Errorf("vic attendance trend %v: want six sessions, falling", a)
		}
		if c := wa.ConfidenceTrend; len(c) < 6 || c[len(c)-1] <= c[0] {
			return fmt.Errorf("wa confidence trend %v: want six evaluations, rising", c)
		}
		if len(vic.ConfidenceTrend) == 0 {
			return fmt.Errorf("vic confidence trend empty")
		}
		cross := false
		for _, o := range summary.Overlaps {
			cross = cross || (slices.Contains(o.Regions, "vic") && slices.Contains(o.Regions, "wa"))
		}
		if !cross {
			return fmt.Errorf("no overlap across vic and wa in %+v", summary.Overlaps)
		}
		for _, g := range summary.Gaps {
			if g.Region == "wa" && g.Topic == "co-design" && slices.Contains(g.SupplyingRegions, "vic") {
				return nil
			}
		}
		return fmt.Errorf("no wa gap on co-design supplied by vic in %+v", summary.Gaps)
	})
}
