package notify_test

// The unsubscribe page as a person reaches it from a mail's footer, in real headless
// Chromium at a phone's width and a desktop's, with axe-core checking each state.

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit/browser"
)

// TestUnsubscribePageInChromium: the footer link opens a page that asks first (changing
// nothing), its button stops that one kind of mail, and a broken link says so; at 390 and
// 1280 px, without signing in.
func TestUnsubscribePageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium")
	}
	axe := browser.AxeSource(t)
	e := start(t, t0)
	setUpCoP(t, e, "ana")
	e.publish(t, events.ParticipationDeclining{CoPID: "c1", EarlyRate: 0.8, RecentRate: 0.4, Drop: 0.4})
	m := e.mp.WaitFor(t, "coord@example.org")
	link := strings.Trim(header(t, e.raw(t, m.ID), "List-Unsubscribe"), "<>")
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	page := e.n.URL + u.Path + "?" + u.RawQuery
	for _, width := range []int{390, 1280} {
		name := func(s string) string { return s + "-" + map[int]string{390: "phone", 1280: "desktop"}[width] }
		ctx := browser.New(t, width)
		// Each width starts subscribed again.
		if _, err := e.db.Exec(context.Background(), `DELETE FROM preferences`); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(`#ask`)); err != nil {
			t.Fatal(err)
		}
		heading, err := chromedp.Run(ctx, chromedp.Text(`#ask`))
		if err != nil {
			t.Fatal(err)
		}
		body, err := chromedp.Run(ctx, chromedp.Text(`main`))
		if err != nil {
			t.Fatal(err)
		}
		if heading != "Stop these mails?" || !strings.Contains(body, "Declining participation in your CoPs") {
			t.Fatalf("page: %q\n%s", heading, body)
		}
		e.waitCount(t, 0, `SELECT count(*) FROM preferences WHERE cadence = 'off'`)
		browser.CheckAccessibility(t, ctx, axe, name("unsubscribe-ask"))
		browser.Fits(t, ctx, name("unsubscribe-ask"))
		browser.Shoot(t, ctx, name("unsubscribe-ask"))

		if err := chromedp.Do(ctx, chromedp.Click(`#stop`), chromedp.WaitVisible(`#done`)); err != nil {
			t.Fatal(err)
		}
		e.waitCount(t, 1, `SELECT count(*) FROM preferences WHERE person_id = 'coord' AND kind = 'participation' AND cadence = 'off'`)
		browser.CheckAccessibility(t, ctx, axe, name("unsubscribe-done"))
		browser.Fits(t, ctx, name("unsubscribe-done"))
		browser.Shoot(t, ctx, name("unsubscribe-done"))

		if err := chromedp.Do(ctx, chromedp.Navigate(e.n.URL+"/unsubscribe?token=broken"), chromedp.WaitVisible(`#broken`)); err != nil {
			t.Fatal(err)
		}
		browser.CheckAccessibility(t, ctx, axe, name("unsubscribe-broken"))
		browser.Fits(t, ctx, name("unsubscribe-broken"))
		browser.Shoot(t, ctx, name("unsubscribe-broken"))
	}
}
