package console_test

// The notification settings page in real headless Chromium, with notify running beside
// the console on one node: the choices read from notify, saved through it, at a phone's
// width and a desktop's, with axe-core checking each state.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/notify"
)

func TestNotificationSettingsPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium")
	}
	axe := chromium.AxeSource(t)
	n := testkit.StartNode(t, testkit.NodeOptions{}, notify.Factory, console.NewFactory(console.Options{}))
	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		person := fmt.Sprintf("person-%d", width)
		name := func(s string) string { return fmt.Sprintf("%s-%d", s, width) }
		token := n.Token(t, httpx.Claims{Subject: person, Grants: []httpx.Grant{{Role: httpx.RoleMember, CoP: "c1"}}})
		ctx := chromium.New(t, width)
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: httpx.AccessCookie, Value: token, URL: n.URL}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+"/notifications"), chromedp.WaitVisible(`#notifications`)); err != nil {
			t.Fatal(err)
		}
		checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('input[name="pref-session_reminder"][value="immediately"]').checked`))
		if err != nil || !checked {
			t.Fatalf("session reminders are not shown as at once: %v %v", checked, err)
		}
		chromium.CheckAccessibility(t, ctx, axe, name("notifications"))
		pageFits(t, ctx, name("notifications"))
		screenshot(t, ctx, name("notifications"))

		if err := chromedp.Do(ctx,
			chromedp.Click(`input[name="pref-session_reminder"][value="weekly"]`),
			chromedp.Click(`input[name="pref-gap"][value="off"]`),
			chromedp.Click(`#save`),
			chromedp.WaitVisible(`#saved`)); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			var weekly, off int
			err := n.Pool("notify").QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE kind = 'session_reminder' AND cadence = 'weekly'),
				count(*) FILTER (WHERE kind = 'gap' AND cadence = 'off') FROM preferences WHERE person_id = $1`, person).Scan(&weekly, &off)
			if err == nil && (weekly != 1 || off != 1) {
				err = fmt.Errorf("preferences weekly %d off %d", weekly, off)
			}
			return err
		})
		checked, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('input[name="pref-session_reminder"][value="weekly"]').checked`))
		if err != nil || !checked {
			t.Fatalf("the saved page does not show the weekly choice: %v %v", checked, err)
		}
		chromium.CheckAccessibility(t, ctx, axe, name("notifications-saved"))
		pageFits(t, ctx, name("notifications-saved"))
		screenshot(t, ctx, name("notifications-saved"))
	}
}

func pageFits(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if wide {
		t.Errorf("%s scrolls sideways", what)
	}
}
