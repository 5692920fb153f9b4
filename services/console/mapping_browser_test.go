package console_test

// Acceptance scenario 4 of issue 18 in real Chromium: two LPHU officers, members of two
// CoPs, each map an engagement with the same community through the mapping form; both see
// the overlap on their CoP's map with the other side's contact route; one marks it
// coordinated and the other sees it. And the resources library: a member uploads a file, a
// member of the same CoP downloads it, a member of another CoP sees nothing. At a phone's
// width and a desktop's, every page checked by axe-core and for sideways scrolling.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/knowledge"
)

// checkMappingPage is checkPage with the journey's own screenshot names.
func checkMappingPage(t *testing.T, ctx context.Context, axe, name string, width int) {
	t.Helper()
	what := fmt.Sprintf("%s at %d px", name, width)
	screenshot(t, ctx, fmt.Sprintf("mapping-%s-%d", name, width))
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowCheck))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", what, p)
	}
	chromium.CheckAccessibility(t, ctx, axe, what)
}

// startMapping boots the console with knowledge and two approved LPHU CoPs in Victoria.
func startMapping(t *testing.T) *testkit.Node {
	t.Helper()
	n := startConsole(t, knowledge.Factory)
	n.Publish(t,
		events.RegionCreated{RegionID: "vic", Name: "Victoria"},
		events.CoPProposed{CoPID: "cop-west", Region: "vic", Name: "Western LPHU engagement", Scope: "regional", Topics: []string{"engagement"}, HostOrganisations: []string{"VicHealth"}, Stage: "potential"},
		events.CoPApproved{CoPID: "cop-west", Region: "vic"},
		events.CoPProposed{CoPID: "cop-barwon", Region: "vic", Name: "Barwon South West LPHU", Scope: "regional", Topics: []string{"engagement"}, HostOrganisations: []string{"VicHealth"}, Stage: "potential"},
		events.CoPApproved{CoPID: "cop-barwon", Region: "vic"},
	)
	drained(t, n)
	return n
}

// officer is the token of a member of cop.
func officer(t *testing.T, n *testkit.Node, person, cop string) string {
	return n.Token(t, httpx.Claims{Subject: person, Grants: []httpx.Grant{{Role: httpx.RoleMember, CoP: cop}}})
}

// mapEngagement fills in and sends the mapping form from the CoP's map.
func mapEngagement(t *testing.T, ctx context.Context, n *testkit.Node, cop, title, topics, place, from, to, contact string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+"/cops/"+cop+"/map"), chromedp.WaitVisible(`#map-new`),
		chromedp.Click(`#map-new`), chromedp.WaitVisible(`#project-form`),
		chromedp.SendKeys(`#title`, title),
		chromedp.SendKeys(`#organisation`, "LPHU"),
		chromedp.SendKeys(`#topics`, topics),
		chromedp.SetValue(`#place`, place),
		chromedp.SendKeys(`#group`, "young people"),
		chromedp.SetValue(`#starts_on`, from),
		chromedp.SetValue(`#ends_on`, to),
		chromedp.Click(`input[name=methods][value="Survey"]`),
		chromedp.SendKeys(`#contact`, contact),
	); err != nil {
		t.Fatalf("fill in the mapping form: %v", err)
	}
}

func TestMappingOverlapJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through mapping and an overlap")
	}
	axe := chromium.AxeSource(t)
	n := startMapping(t)
	// Each width maps its own community and topic, so that the two runs' projects do not
	// overlap each other.
	for _, tc := range []struct {
		width         int
		place, topics string
	}{{chromium.PhoneWidth, "au.vic.geelong", "youth mental health"}, {chromium.DesktopWidth, "au.vic.wyndham", "physical activity"}} {
		t.Run(fmt.Sprintf("%d px", tc.width), func(t *testing.T) {
			ana := chromium.New(t, tc.width)
			ben := chromium.New(t, tc.width)
			for ctx, tok := range map[context.Context]string{
				ana: officer(t, n, fmt.Sprintf("ana-%d", tc.width), "cop-west"),
				ben: officer(t, n, fmt.Sprintf("ben-%d", tc.width), "cop-barwon"),
			} {
				setAccessCookie(t, ctx, n, tok)
			}

			// Ana's map is empty; she maps her survey.
			if err := chromedp.Do(ana, chromedp.Navigate(n.URL+"/cops/cop-west/map"), chromedp.WaitVisible(`#timeline-empty`)); err != nil {
				t.Fatalf("Ana's empty map: %v", err)
			}
			checkMappingPage(t, ana, axe, "map-empty", tc.width)
			mapEngagement(t, ana, n, "cop-west", "Youth voice survey", tc.topics, tc.place, "2026-03-02", "2026-04-30", "westengage@lphu.example")
			checkMappingPage(t, ana, axe, "form", tc.width)
			if err := chromedp.Do(ana, chromedp.Click(`#submit-project`), chromedp.WaitVisible(`#map-notice`), chromedp.WaitVisible(`#timeline li.tl-row`)); err != nil {
				t.Fatalf("map Ana's survey: %v", err)
			}
			if s := text(t, ana, `#timeline`); !strings.Contains(s, "Youth voice survey") || !strings.Contains(s, "2 Mar – 30 Apr 2026") {
				t.Errorf("Ana's timeline reads:\n%s", s)
			}

			// Ben, in another CoP, maps a forum with the same community, overlapping in April.
			mapEngagement(t, ben, n, "cop-barwon", "Young people's wellbeing forum", tc.topics, tc.place, "2026-04-13", "2026-05-29", "engage@bsw-lphu.example")
			if err := chromedp.Do(ben, chromedp.Click(`#submit-project`), chromedp.WaitVisible(`#map-notice`)); err != nil {
				t.Fatalf("map Ben's forum: %v", err)
			}

			// Both see the overlap on their CoP's map, with the other side's contact route.
			for _, side := range []struct {
				ctx                 context.Context
				cop, other, contact string
			}{{ben, "cop-barwon", "Western LPHU engagement", "westengage@lphu.example"}, {ana, "cop-west", "Barwon South West LPHU", "engage@bsw-lphu.example"}} {
				// Overlaps are found by knowledge's consumer of project_mapped, after the
				// form's answer: the map shows one once that event has been through the bus.
				testkit.Eventually(t, 2*waitFor, func() error {
					if err := chromedp.Do(side.ctx, chromedp.Navigate(n.URL+"/cops/"+side.cop+"/map"), chromedp.WaitVisible(`#timeline`)); err != nil {
						return err
					}
					has, err := chromedp.Run(side.ctx, chromedp.Evaluate[bool](`!!document.querySelector('#overlaps li.overlap')`))
					if err != nil || !has {
						_, overlaps := n.Do(t, "GET", "/v1/overlaps", n.National(t), nil)
						return fmt.Errorf("no overlap on the map of %s yet (%v); knowledge lists %s", side.cop, err, overlaps)
					}
					return nil
				})
				card := text(t, side.ctx, `#overlaps li.overlap`)
				for _, want := range []string{"The same community is asked twice", side.other, side.contact, "young people in " + map[string]string{"au.vic.geelong": "Greater Geelong", "au.vic.wyndham": "Wyndham"}[tc.place]} {
					if !strings.Contains(card, want) {
						t.Errorf("the overlap on %s's map lacks %q:\n%s", side.cop, want, card)
					}
				}
				if s := text(t, side.ctx, `#timeline`); !strings.Contains(s, "overlaps with "+side.other) {
					t.Errorf("%s's timeline does not flag the overlap:\n%s", side.cop, s)
				}
				checkMappingPage(t, side.ctx, axe, "map-overlap-"+side.cop, tc.width)
			}

			// Ben opens the overlap, notes what they agreed and marks it coordinated.
			if err := chromedp.Do(ben, chromedp.Click(`#overlaps li.overlap h3 a`), chromedp.WaitVisible(`#coordinate-form`)); err != nil {
				t.Fatalf("open the overlap: %v", err)
			}
			checkMappingPage(t, ben, axe, "overlap", tc.width)
			if err := chromedp.Do(ben, chromedp.SendKeys(`#note`, "One joint session in April; Ana's survey questions go to the forum."),
				chromedp.Click(`#mark-coordinated`), chromedp.WaitVisible(`#overlap-notice`)); err != nil {
				t.Fatalf("mark coordinated: %v", err)
			}
			if s := text(t, ben, `#overlap-status`); s != "Coordinated" {
				t.Errorf("status after marking: %q", s)
			}
			checkMappingPage(t, ben, axe, "coordinated", tc.width)

			// Ana sees it coordinated on her map, with Ben's note.
			if err := chromedp.Do(ana, chromedp.Navigate(n.URL+"/cops/cop-west/map"), chromedp.WaitVisible(`#overlaps li.overlap`)); err != nil {
				t.Fatal(err)
			}
			if s := text(t, ana, `#overlaps li.overlap`); !strings.Contains(s, "Coordinated") || !strings.Contains(s, "One joint session in April") {
				t.Errorf("Ana's map shows the overlap as:\n%s", s)
			}
			if buttons, err := chromedp.Run(ana, chromedp.Evaluate[int](`document.querySelectorAll('#overlaps .mark-coordinated').length`)); err != nil || buttons != 0 {
				t.Errorf("a coordinated overlap still offers the button (%d, %v)", buttons, err)
			}
			checkMappingPage(t, ana, axe, "map-coordinated", tc.width)
		})
	}
}

// setAccessCookie holds tok in ctx's access cookie, as after a sign-in.
func setAccessCookie(t *testing.T, ctx context.Context, n *testkit.Node, tok string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: httpx.AccessCookie, Value: tok, URL: n.URL}); err != nil {
		t.Fatalf("set the access cookie: %v", err)
	}
}

func TestResourcesJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through the resources library")
	}
	axe := chromium.AxeSource(t)
	n := startMapping(t)
	dir := t.TempDir()
	guide := filepath.Join(dir, "engagement-plan-template.txt")
	const content = "Engagement plan template\n1. Whom will you ask?\n2. What do they already know?\n"
	if err := os.WriteFile(guide, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		t.Run(fmt.Sprintf("%d px", width), func(t *testing.T) {
			ana, cara, ben := chromium.New(t, width), chromium.New(t, width), chromium.New(t, width)
			setAccessCookie(t, ana, n, officer(t, n, fmt.Sprintf("ana-%d", width), "cop-west"))
			setAccessCookie(t, cara, n, officer(t, n, fmt.Sprintf("cara-%d", width), "cop-west"))
			setAccessCookie(t, ben, n, officer(t, n, fmt.Sprintf("ben-%d", width), "cop-barwon"))
			title := fmt.Sprintf("Engagement plan template (%d)", width)

			if err := chromedp.Do(ana, chromedp.Navigate(n.URL+"/cops/cop-west/resources"), chromedp.WaitVisible(`#share-form`)); err != nil {
				t.Fatal(err)
			}
			checkMappingPage(t, ana, axe, "resources", width)
			if err := chromedp.Do(ana, chromedp.SendKeys(`#title`, title), chromedp.SendKeys(`#topics`, "community engagement, planning"),
				chromedp.SetUploadFiles(`#file`, []string{guide}), chromedp.Click(`#share-resource`), chromedp.WaitVisible(`#resources-notice`)); err != nil {
				t.Fatalf("upload: %v", err)
			}
			item := `#library li.asset`
			if s := text(t, ana, `#library`); !strings.Contains(s, title) || !strings.Contains(s, "engagement-plan-template.txt") || !strings.Contains(s, "Seen by: This CoP") {
				t.Errorf("the library reads:\n%s", s)
			}
			checkMappingPage(t, ana, axe, "resources-shared", width)

			// Cara, of the same CoP, downloads it from the library's link.
			if err := chromedp.Do(cara, chromedp.Navigate(n.URL+"/cops/cop-west/resources"), chromedp.WaitVisible(item)); err != nil {
				t.Fatal(err)
			}
			type got struct {
				Status      int
				Body        string
				Disposition string
				NoSniff     string
			}
			fetch := `(async () => { const a = [...document.querySelectorAll('#library a.download')].find(a => a.textContent.includes(` + fmt.Sprintf("%q", title) + `));
				const r = await fetch(a.href); return {status: r.status, body: await r.text(), disposition: r.headers.get('content-disposition') || '', nosniff: r.headers.get('x-content-type-options') || ''}; })()`
			res, err := chromedp.Run(cara, chromedp.Evaluate[got](fetch, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("download: %v", err)
			}
			if res.Status != 200 || res.Body != content || !strings.HasPrefix(res.Disposition, "attachment") || res.NoSniff != "nosniff" {
				t.Errorf("Cara's download: %+v", res)
			}
			checkMappingPage(t, cara, axe, "resources-member", width)

			// Ben, of another CoP, sees none of it, and the file's address gives him nothing.
			if err := chromedp.Do(ben, chromedp.Navigate(n.URL+"/cops/cop-west/resources"), chromedp.WaitVisible(`main`)); err != nil {
				t.Fatal(err)
			}
			if s := text(t, ben, `main`); strings.Contains(s, title) {
				t.Errorf("a member of another CoP sees the CoP's file:\n%s", s)
			}
			// A file over the limit is refused with a message, and nothing is shared.
			if width == chromium.DesktopWidth {
				big := filepath.Join(dir, "recording.bin")
				if err := os.WriteFile(big, make([]byte, 11<<20), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := chromedp.Do(ana, chromedp.Navigate(n.URL+"/cops/cop-west/resources"), chromedp.WaitVisible(`#share-form`),
					chromedp.SendKeys(`#title`, "Session recording"), chromedp.SendKeys(`#topics`, "engagement"),
					chromedp.SetUploadFiles(`#file`, []string{big}), chromedp.Click(`#share-resource`), chromedp.WaitVisible(`#resources-error`)); err != nil {
					t.Fatalf("upload too large a file: %v", err)
				}
				if s := text(t, ana, `#resources-error`); !strings.Contains(s, "larger than 10 MB") {
					t.Errorf("refusing a large file says %q", s)
				}
				if s := text(t, ana, `main`); strings.Contains(s, "recording.bin") {
					t.Errorf("the large file is in the library:\n%s", s)
				}
				checkMappingPage(t, ana, axe, "resources-too-large", width)
			}

			href, err := chromedp.Run(cara, chromedp.Evaluate[string](`document.querySelector('#library a.download').href`))
			if err != nil {
				t.Fatal(err)
			}
			if st := visit(t, ben, href); st != 404 {
				t.Errorf("a member of another CoP downloading it: %d", st)
			}
		})
	}
}
