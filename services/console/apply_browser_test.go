package console_test

// Acceptance scenario 1 of issue 18, driven only through pages in real Chromium: a group
// applies at /apply (signing in with an e-mailed link read back from Mailpit, which makes
// the applicant a person who can come back), the vic hub reads the whole proposal in its
// queue and asks for a change, the group edits and resubmits from its application page,
// and the hub approves. At a phone's width and a desktop's, every page checked by axe-core
// and for sideways scrolling, with screenshots in testdata/artifacts.

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
)

var signinLink = regexp.MustCompile(`http://\S+/auth/link\?t=\S+`)

// checkPage screenshots the page and fails on sideways scrolling and on axe-core's serious
// or critical findings.
func checkPage(t *testing.T, ctx context.Context, axe, name string, width int) {
	t.Helper()
	what := fmt.Sprintf("%s at %d px", name, width)
	screenshot(t, ctx, fmt.Sprintf("apply-%s-%d", name, width))
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowCheck))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", what, p)
	}
	chromium.CheckAccessibility(t, ctx, axe, what)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func TestApplicationJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through the application journey")
	}
	axe := chromium.AxeSource(t)
	mp := testkit.Mailpit(t)
	t.Setenv("COPNET_SMTP_URL", mp.SMTPURL())
	t.Setenv("COPNET_MAIL_FROM", "copnet <noreply@copnet.example>")
	n := startConsole(t, registry.Factory, membership.Factory)
	// The network exists before the group comes: national made the region.
	if st := n.JSON(t, "POST", "/v1/regions", n.National(t), map[string]string{"id": "vic", "name": "Victoria"}, nil); st != http.StatusCreated {
		t.Fatalf("create region vic: %d", st)
	}

	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		t.Run(fmt.Sprintf("%d px", width), func(t *testing.T) {
			addr := fmt.Sprintf("mia-%d@example.org", width)
			name := fmt.Sprintf("Western carers %d", width)

			// The group's contact opens /apply, not signed in: the page says what applying
			// takes and sends them to sign in with an e-mailed link.
			group := chromium.New(t, width)
			if err := chromedp.Do(group, chromedp.Navigate(n.URL+"/apply"), chromedp.WaitVisible(`#signin-to-apply`)); err != nil {
				t.Fatalf("open /apply: %v", err)
			}
			checkPage(t, group, axe, "public", width)
			if err := chromedp.Do(group, chromedp.Click(`#signin-to-apply`), chromedp.WaitVisible(`#email`),
				chromedp.SendKeys(`#email`, addr), chromedp.Click(`#send-link`), chromedp.WaitVisible(`#link-sent`)); err != nil {
				t.Fatalf("ask for a sign-in link: %v", err)
			}
			link := signinLink.FindString(mp.WaitFor(t, addr).Text)
			if link == "" {
				t.Fatal("no sign-in link in the mail")
			}
			// The link signs them in (a new person: self-registration) and brings them back.
			if err := chromedp.Do(group, chromedp.Navigate(link), chromedp.WaitVisible(`#application-form`)); err != nil {
				t.Fatalf("follow the sign-in link back to /apply: %v", err)
			}
			checkPage(t, group, axe, "form", width)

			// They fill in the proposal their group co-designed and send it.
			if err := chromedp.Do(group,
				chromedp.SetValue(`#region`, "vic"),
				chromedp.SendKeys(`#name`, name),
				chromedp.SendKeys(`#purpose`, "Carers and practitioners share what helps at home."),
				chromedp.SendKeys(`#topics`, "carers, respite"),
				chromedp.SendKeys(`#host_organisations`, "Carers Victoria\nWestern Health"),
				chromedp.SendKeys(`#meeting_frequency`, "Monthly"),
				chromedp.SendKeys(`#meeting_when`, "Second Tuesday, 10:00"),
				chromedp.SendKeys(`#contact_name`, "Mia Tran"),
				chromedp.SendKeys(`#contact_email`, addr),
				chromedp.Click(`#submit-application`),
				chromedp.WaitVisible(`#application-notice`),
			); err != nil {
				t.Fatalf("send the application: %v", err)
			}
			where, err := chromedp.Run(group, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			id := strings.TrimPrefix(strings.Split(where, "?")[0], n.URL+"/applications/")
			if id == "" || strings.Contains(id, "/") {
				t.Fatalf("after applying the browser is at %s, want the application's page", where)
			}
			if s := text(t, group, `#application-status`); s != "Waiting for the hub's decision" {
				t.Errorf("status after applying: %q", s)
			}
			if s := text(t, group, `main`); !strings.Contains(s, "Region\nVictoria") && !strings.Contains(s, "Region Victoria") {
				t.Errorf("the application's page does not name the region Victoria:\n%s", s)
			}
			checkPage(t, group, axe, "sent", width)

			// The vic hub sees the whole proposal in its queue and asks for a change.
			hubB := chromium.New(t, width)
			if _, err := chromedp.Call(hubB, network.SetCookie, network.SetCookieParams{Name: httpx.AccessCookie, Value: hub(t, n, "vic"), URL: n.URL}); err != nil {
				t.Fatalf("set the hub's access cookie: %v", err)
			}
			card := `#queue article[data-cop="` + id + `"]`
			if err := chromedp.Do(hubB, chromedp.Navigate(n.URL+"/regions/vic"), chromedp.WaitVisible(card)); err != nil {
				t.Fatalf("the hub's queue does not show the application: %v", err)
			}
			whole := text(t, hubB, card)
			for _, want := range []string{name, "Carers and practitioners share what helps at home.", "carers, respite",
				"Carers Victoria, Western Health", "Monthly, Second Tuesday, 10:00, 90 minutes: Share / Discuss / Apply", "Mia Tran", addr} {
				if !strings.Contains(whole, want) {
					t.Errorf("the queue's proposal lacks %q:\n%s", want, whole)
				}
			}
			checkPage(t, hubB, axe, "queue", width)
			const ask = "Please say who facilitates the sessions."
			if err := chromedp.Do(hubB,
				chromedp.SendKeys(`#changes-`+id, ask),
				chromedp.Click(card+` button.changes`),
				chromedp.WaitVisible(`#awaiting-changes li[data-cop="`+id+`"]`),
			); err != nil {
				t.Fatalf("ask for changes: %v", err)
			}
			if s := text(t, hubB, `p.notice`); !strings.Contains(s, "You asked the applicant for changes to "+name) {
				t.Errorf("the hub's notice says %q", s)
			}
			checkPage(t, hubB, axe, "asked", width)

			// The group sees the hub's request on its application page, edits and resubmits.
			if err := chromedp.Do(group, chromedp.Navigate(n.URL+"/applications"), chromedp.WaitVisible(`#applications li[data-cop="`+id+`"]`)); err != nil {
				t.Fatalf("the group's applications: %v", err)
			}
			if s := text(t, group, `#applications li[data-cop="`+id+`"]`); !strings.Contains(s, "The hub asked for changes") {
				t.Errorf("the applications list says %q", s)
			}
			checkPage(t, group, axe, "list", width)
			if err := chromedp.Do(group, chromedp.Click(`#applications li[data-cop="`+id+`"] a`), chromedp.WaitVisible(`#changes-requested`)); err != nil {
				t.Fatalf("open the application: %v", err)
			}
			if s := text(t, group, `#changes-requested`); s != ask {
				t.Errorf("the group is shown the request %q, want %q", s, ask)
			}
			checkPage(t, group, axe, "changes", width)
			const edited = "Carers and practitioners share what helps at home. Mia Tran facilitates; members take notes in turn."
			if err := chromedp.Do(group,
				chromedp.SetValue(`#purpose`, edited),
				chromedp.Click(`#submit-application`),
				chromedp.WaitVisible(`#application-notice`),
			); err != nil {
				t.Fatalf("resubmit: %v", err)
			}
			if s := text(t, group, `#application-status`); s != "Resubmitted: waiting for the hub's decision" {
				t.Errorf("status after resubmitting: %q", s)
			}
			checkPage(t, group, axe, "resubmitted", width)

			// The hub sees the edited proposal, with what it had asked, and approves.
			if err := chromedp.Do(hubB, chromedp.Navigate(n.URL+"/regions/vic"), chromedp.WaitVisible(card)); err != nil {
				t.Fatalf("the resubmission is not back in the queue: %v", err)
			}
			if s := text(t, hubB, card); !strings.Contains(s, edited) || !strings.Contains(s, "You had asked: "+ask) {
				t.Errorf("the resubmitted proposal shows:\n%s", s)
			}
			checkPage(t, hubB, axe, "resubmission", width)
			if err := chromedp.Do(hubB, chromedp.Click(card+` button.approve`), chromedp.WaitVisible(`p.notice`)); err != nil {
				t.Fatalf("approve: %v", err)
			}
			if s := text(t, hubB, `p.notice`); !strings.Contains(s, "You approved "+name) {
				t.Errorf("the hub's notice after approving says %q", s)
			}
			// The CoP leaves the queue at once (the registry decided); the health table
			// shows it once the registry's event has reached the console.
			testkit.Eventually(t, waitFor, func() error {
				if err := chromedp.Do(hubB, chromedp.Navigate(n.URL+"/regions/vic"), chromedp.WaitReady(`main`)); err != nil {
					return err
				}
				state, err := chromedp.Run(hubB, chromedp.Evaluate[string](`(document.querySelector('#queue article[data-cop="`+id+`"]') ? "queued " : "") +
					((document.querySelector('#health tr[data-cop="`+id+`"] [data-figure=status]') || {}).textContent || "")`))
				if err != nil {
					return err
				}
				if state != "Approved" {
					return fmt.Errorf("the region page shows the CoP as %q", state)
				}
				return nil
			})
			checkPage(t, hubB, axe, "approved-hub", width)

			// The group sees the approval on its application page.
			if err := chromedp.Do(group, chromedp.Navigate(n.URL+"/applications/"+id), chromedp.WaitVisible(`#application-approved`)); err != nil {
				t.Fatalf("the group's page after the approval: %v", err)
			}
			checkPage(t, group, axe, "approved", width)
		})
	}
}
