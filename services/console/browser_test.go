package console_test

// The console as people use it: headless Chromium (Debian's chromium package) driven with
// chromedp, the registry running beside the console on one node so that an approval made
// on a page really goes through the registry and comes back as an event, and axe-core
// checking every page for accessibility.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/console/internal/projection"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
)

const chromiumPath = "/usr/bin/chromium"

// artifactsDir keeps the screenshots for people to look at; git ignores it.
var artifactsDir = filepath.Join("testdata", "artifacts")

// ensureChromium installs Debian's chromium when it is missing and the test may (root);
// otherwise it fails saying what to do. A browser test that skips proves nothing.
func ensureChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s is missing: install Debian's chromium package (apt-get install -y chromium) and run again", chromiumPath)
	}
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "chromium"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// chrome starts a fresh headless browser (its own profile, so its own cookies) for one
// person.
func chrome(t *testing.T) context.Context {
	t.Helper()
	return chromium.New(t, chromium.DesktopWidth)
}

// visit opens url and returns the HTTP status of the page.
// signedIn is a Chromium holding token in the access cookie, as after a sign-in.
func signedIn(t *testing.T, n *testkit.Node, token string) context.Context {
	t.Helper()
	ctx := chrome(t)
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: httpx.AccessCookie, Value: token, URL: n.URL}); err != nil {
		t.Fatalf("set the access cookie: %v", err)
	}
	return ctx
}

func visit(t *testing.T, ctx context.Context, url string) int64 {
	t.Helper()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("navigate %s: %v", url, err)
	}
	return res.Status
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactsDir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestBrowser: the national page shows the summary's figures; a hub signs in by pasting
// its token, approves a proposal from its region page, and sees the CoP approved once the
// registry's event comes back; a hub of another region gets 403. Every page passes axe.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through the pages")
	}
	ensureChromium(t)
	axe := chromium.AxeSource(t)
	n := startConsole(t, registry.Factory, membership.Factory)
	nat := national(t, n)

	// The registry makes the regions and CoPs; the other services' events are fed in.
	for _, r := range [][2]string{{"north", "Northland"}, {"south", "Southland"}} {
		if st := n.JSON(t, "POST", "/v1/regions", nat, map[string]string{"id": r[0], "name": r[1]}, nil); st != http.StatusCreated {
			t.Fatalf("create region %s: %d", r[0], st)
		}
	}
	propose := func(region, name string) string {
		var c struct {
			ID string `json:"id"`
		}
		body := map[string]any{"name": name, "region": region, "scope": "regional", "purpose": "Practitioners sharing what works.",
			"topics": []string{"triage"}, "host_organisations": []string{"Community Health"},
			"meeting": map[string]any{"frequency": "monthly", "duration_minutes": 90, "format": []string{"share", "discuss", "apply"}}}
		if st := n.JSON(t, "POST", "/v1/cops", nat, body, &c); st != http.StatusCreated {
			t.Fatalf("propose %s: %d", name, st)
		}
		return c.ID
	}
	approve := func(id string) {
		if st := n.JSON(t, "POST", "/v1/cops/"+id+"/decision", nat, map[string]string{"decision": "approve"}, nil); st != http.StatusOK {
			t.Fatalf("approve %s: %d", id, st)
		}
	}
	nurses, kai, health := propose("north", "Nurses North"), propose("north", "Kai North"), propose("south", "Health South")
	approve(nurses)
	approve(health)
	now := time.Now()
	n.Publish(t,
		events.MemberJoined{CoPID: nurses, Region: "north", PersonID: "p1", CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: nurses, Region: "north", PersonID: "p2", CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: health, Region: "south", PersonID: "p3", CodeOfPracticeVersion: 1},
		events.SessionHeld{SessionID: "s1", CoPID: nurses, ProgramID: "pg", Number: 1, HeldAt: now.Add(-20 * 24 * time.Hour), Topics: []string{"triage"}},
		events.AttendanceRecorded{SessionID: "s1", CoPID: nurses, Attended: 9, Apologies: 1, Absent: 2, Records: []events.Attendance{}},
		events.SessionHeld{SessionID: "s2", CoPID: nurses, ProgramID: "pg", Number: 2, HeldAt: now.Add(-6 * 24 * time.Hour), Topics: []string{"triage"}},
		events.AttendanceRecorded{SessionID: "s2", CoPID: nurses, Attended: 7, Apologies: 2, Absent: 3, Records: []events.Attendance{}},
		events.ResultsPublished{PollID: "e1", CoPID: nurses, SessionID: "s1", Kind: "evaluation", Purpose: "evaluation", Responses: 6,
			Results: map[string]any{"questions": []any{map[string]any{"key": "confidence", "kind": "scale", "mean": 3.4}}}},
		events.ResultsPublished{PollID: "e2", CoPID: nurses, SessionID: "s2", Kind: "evaluation", Purpose: "evaluation", Responses: 5,
			Results: map[string]any{"questions": []any{map[string]any{"key": "confidence", "kind": "scale", "mean": 4.1}}}},
		events.OverlapDetected{OverlapID: "o1", Kind: "fatigue", Score: 0.82, ProjectIDs: []string{"pa", "pb"}, CoPIDs: []string{nurses, health}, Regions: []string{"north", "south"}},
		events.GapIdentified{Region: "north", Topic: "wetland restoration", SupplyingRegions: []string{"south"}},
	)
	// Wait for the state the page is compared with: every consumer has applied everything
	// published so far (the second session's attendance included), then the registry's
	// events that the totals show.
	nc := n.NATS.Connect(t)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	var want projection.Network
	testkit.Eventually(t, waitFor, func() error {
		if err := drainedNow(js); err != nil {
			return err
		}
		want = summary(t, n)
		if want.Totals.CoPs != 3 || want.Totals.Members != 3 || want.Totals.AwaitingDecision != 1 || want.Totals.OpenOverlaps != 1 ||
			want.Totals.Gaps != 1 || want.Totals.SessionsHeld90d != 2 || len(want.Regions) != 2 ||
			len(want.Regions[0].ConfidenceTrend) != 2 || len(want.Regions[0].AttendanceTrend) != 2 {
			return fmt.Errorf("console not caught up: %+v", want.Totals)
		}
		// cop_proposed (which carries the stage) and cop_approved reach the console on
		// separate consumers: wait until every CoP has its stage too.
		staged := 0
		for _, r := range want.Regions {
			for _, c := range r.CoPsByStage {
				staged += c
			}
		}
		if staged != 3 {
			return fmt.Errorf("%d of 3 CoPs have their stage yet", staged)
		}
		return nil
	})

	t.Run("national page shows the summary's figures", func(t *testing.T) {
		ctx := chrome(t)
		// The single-use setup link the all-in-one prints on its first start: the page asks
		// the administrator's name and address, and submitting it signs them in as national.
		link, err := membership.SetupLink(n.Secret, n.URL, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if st := visit(t, ctx, link); st != http.StatusOK {
			t.Fatalf("setup link: %d", st)
		}
		chromium.CheckAccessibility(t, ctx, axe, "setup page")
		screenshot(t, ctx, "setup")
		if err := chromedp.Do(ctx, chromedp.SetValue(`#name`, "Sam Secretariat"), chromedp.SetValue(`#email`, "sam@secretariat.example"),
			chromedp.Click(`#setup-submit`), chromedp.WaitVisible(`#totals`)); err != nil {
			t.Fatalf("national page did not open after the setup form: %v", err)
		}
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]map[string]string](`Object.fromEntries([...document.querySelectorAll("article[data-region]")].map(a =>
				[a.dataset.region, Object.fromEntries([...a.querySelectorAll("[data-figure]")].map(e => [e.dataset.figure, e.textContent.trim()]))]))`))
		if err != nil {
			t.Fatal(err)
		}
		totals, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll("#totals [data-figure]")].map(e => [e.dataset.figure, e.textContent.trim()]))`))
		if err != nil {
			t.Fatal(err)
		}
		labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("svg[role=img]")].map(s => s.getAttribute("aria-label"))`))
		if err != nil {
			t.Fatal(err)
		}
		wantTotals := map[string]string{"cops": fmt.Sprint(want.Totals.CoPs), "members": fmt.Sprint(want.Totals.Members),
			"sessions_held_90d": fmt.Sprint(want.Totals.SessionsHeld90d), "awaiting_decision": fmt.Sprint(want.Totals.AwaitingDecision),
			"open_overlaps": fmt.Sprint(want.Totals.OpenOverlaps), "gaps": fmt.Sprint(want.Totals.Gaps)}
		if fmt.Sprint(totals) != fmt.Sprint(wantTotals) {
			t.Errorf("totals on the page %v, summary %v", totals, wantTotals)
		}
		for _, r := range want.Regions {
			got := shown[r.ID]
			exp := map[string]string{"cops": fmt.Sprint(r.CoPs), "members": fmt.Sprint(r.Members),
				"sessions_held_90d": fmt.Sprint(r.SessionsHeld90d), "declining": fmt.Sprint(r.Declining),
				"onboarding.proposed": fmt.Sprint(r.Onboarding.Proposed), "onboarding.approved": fmt.Sprint(r.Onboarding.Approved),
				"onboarding.declined": fmt.Sprint(r.Onboarding.Declined)}
			for k, v := range r.CoPsByStatus {
				exp["cops_by_status."+k] = fmt.Sprint(v)
			}
			for k, v := range r.CoPsByStage {
				exp["cops_by_stage."+k] = fmt.Sprint(v)
			}
			if fmt.Sprint(got) != fmt.Sprint(exp) {
				t.Errorf("region %s on the page %v, summary %v", r.ID, got, exp)
			}
			if len(r.AttendanceTrend) > 0 {
				words := make([]string, len(r.AttendanceTrend))
				for i, v := range r.AttendanceTrend {
					words[i] = fmt.Sprintf("%.0f%%", v*100)
				}
				label := fmt.Sprintf("Attendance rate per session in %s, oldest to latest: %s", r.Name, strings.Join(words, ", "))
				if !slices.Contains(labels, label) {
					t.Errorf("no chart labelled %q among %q", label, labels)
				}
			}
		}
		screenshot(t, ctx, "national")
		chromium.CheckAccessibility(t, ctx, axe, "national page")
		visit(t, ctx, n.URL+"/cops/"+nurses)
		screenshot(t, ctx, "cop")
		chromium.CheckAccessibility(t, ctx, axe, "CoP page")
	})

	// Every page at a phone's width and two desktop widths: a screenshot to look at, no
	// sideways scrolling of the page, nothing wider than the card it sits in (wide tables
	// scroll inside their own labelled region), and axe clean at the phone width.
	t.Run("every page fits at 390, 1366 and 1920 px", func(t *testing.T) {
		// Holding the access cookie a sign-in ends with (the sign-in itself is the setup
		// subtest's and membership's journeys').
		signIn := func(token string) context.Context {
			return signedIn(t, n, token)
		}
		nationalCtx := signIn(nat)
		anonCtx := chrome(t)
		hubCtx := signIn(hub(t, n, "south"))
		pages := []struct {
			name string
			ctx  context.Context
			path string
		}{
			{"national", nationalCtx, "/"},
			{"region", nationalCtx, "/regions/north"},
			{"cop", nationalCtx, "/cops/" + nurses},
			{"signin", anonCtx, "/signin"},
			{"account", nationalCtx, "/account"},
			{"forbidden", hubCtx, "/regions/north"},
		}
		for _, width := range []int64{390, 1366, 1920} {
			for _, p := range pages {
				what := fmt.Sprintf("%s page at %d px", p.name, width)
				if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(width, 900)); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				visit(t, p.ctx, n.URL+p.path)
				// The page itself, not the sign-in page a lost session would show instead.
				if where, err := chromedp.Run(p.ctx, chromedp.Location()); err != nil || !strings.HasSuffix(where, p.path) {
					t.Fatalf("%s: landed on %q (%v), want %s", what, where, err, p.path)
				}
				if p.name != "signin" {
					if onSignin, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.querySelector('#send-link') !== null`)); err != nil || onSignin {
						t.Fatalf("%s: the sign-in form is shown (%v): the session was lost", what, err)
					}
				}
				screenshot(t, p.ctx, fmt.Sprintf("%s-%d", p.name, width))
				problems, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](overflowCheck))
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				for _, problem := range problems {
					t.Errorf("%s: %s", what, problem)
				}
				if width == 390 {
					chromium.CheckAccessibility(t, p.ctx, axe, what)
				}
			}
		}
	})

	t.Run("hub approves a proposal", func(t *testing.T) {
		ctx := signedIn(t, n, hub(t, n, "north"))
		visit(t, ctx, n.URL+"/")
		if err := chromedp.Do(ctx, chromedp.WaitVisible(`#queue`)); err != nil {
			t.Fatalf("a signed-in hub opening the console does not land on its region page: %v", err)
		}
		if where, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(where, "/regions/north") {
			t.Errorf("a hub lands on %q, want its region page", where)
		}
		screenshot(t, ctx, "region-before")
		chromium.CheckAccessibility(t, ctx, axe, "region page")

		if err := chromedp.Do(ctx,
			chromedp.Click(`#queue [data-cop="`+kai+`"] button.approve`),
			chromedp.WaitVisible(`p.notice`),
		); err != nil {
			t.Fatalf("approve from the region page: %v", err)
		}
		// The registry decides and publishes; the console shows it after the event round.
		testkit.Eventually(t, waitFor, func() error {
			if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitReady(`main`)); err != nil {
				return err
			}
			status, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('#health tr[data-cop="`+kai+`"] [data-figure=status]') || {}).textContent || ""`))
			if err != nil {
				return err
			}
			queued, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('#queue [data-cop="`+kai+`"]')`))
			if err != nil {
				return err
			}
			if status != "Approved" || queued {
				return fmt.Errorf("Kai North shows %q, still queued %v", status, queued)
			}
			return nil
		})
		screenshot(t, ctx, "region-after")
		chromium.CheckAccessibility(t, ctx, axe, "region page after the approval")
		var s projection.Network
		n.JSON(t, "GET", "/v1/network/summary", nat, nil, &s)
		if s.Regions[0].Onboarding != (projection.Onboarding{Approved: 2}) {
			t.Errorf("north onboarding after the approval = %+v", s.Regions[0].Onboarding)
		}
	})

	t.Run("hub of another region gets 403", func(t *testing.T) {
		ctx := signedIn(t, n, hub(t, n, "south"))
		if st := visit(t, ctx, n.URL+"/regions/north"); st != http.StatusForbidden {
			t.Errorf("hub south opening region north: %d, want 403", st)
		}
		if heading, err := chromedp.Run(ctx, chromedp.Text(`h1`)); err != nil || !strings.Contains(heading, "403") {
			t.Errorf("the 403 page says %q", heading)
		}
		screenshot(t, ctx, "forbidden")
		chromium.CheckAccessibility(t, ctx, axe, "403 page")
	})
}

// overflowCheck lists what sticks out at the current width: the page scrolling sideways, and
// any element wider than the card (or main column) it sits in. What sits inside a .scroll
// region scrolls within it, so it is measured by that region.
const overflowCheck = `(() => {
	const out = [];
	const de = document.documentElement;
	if (de.scrollWidth > de.clientWidth) out.push("the page scrolls sideways: " + de.scrollWidth + " > " + de.clientWidth + " px");
	const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
		(typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "");
	for (const card of document.querySelectorAll("main, .cards > div, .region")) {
		const c = card.getBoundingClientRect();
		for (const el of card.querySelectorAll("*")) {
			const scroller = el.parentElement && el.parentElement.closest(".scroll");
			if (scroller && card.contains(scroller)) continue;
			if (el.closest(".sr-only")) continue;
			const r = el.getBoundingClientRect();
			if (r.width <= 1 || r.height === 0) continue;
			if (r.left < c.left - 0.5 || r.right > c.right + 0.5) {
				out.push(name(el) + " (" + Math.round(r.left) + "–" + Math.round(r.right) + " px) sticks out of " + name(card) +
					" (" + Math.round(c.left) + "–" + Math.round(c.right) + " px)");
			}
		}
	}
	return out.slice(0, 20);
})()`
