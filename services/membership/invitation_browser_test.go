package membership_test

// The invitation page as an invitee sees it, in real headless Chromium: the mailed link
// (read back from Mailpit) signs them in and lands on the console's page, which says who
// invited them to what and shows the CoP's Code of Practice; they accept it and join. At a
// phone's width and a desktop's, with axe-core checking each state of the page.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/registry"
)

// TestInvitationPageInChromium: a member invitation opened from its mail, at 390 and 1280
// px. The page names the CoP and shows its Code of Practice; accepting without ticking the
// box is refused by the server (the browser's own check is taken away to prove it), and
// ticking it joins the CoP.
func TestInvitationPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through the invitation page")
	}
	axe := browser.AxeSource(t)
	e, mp := startWithMail(t, registry.Factory, console.Factory)
	nat := e.national()
	// The registry makes the region and the CoP with its Code of Practice; membership and
	// the console hear of them through its events.
	e.must(http.StatusCreated, nil, nat, "POST", "/v1/regions", `{"id":"vic","name":"Victoria"}`)
	var cop struct{ ID string }
	e.must(http.StatusCreated, &cop, nat, "POST", "/v1/cops", `{"name":"Nurses of the Goldfields","region":"vic","scope":"regional",
		"purpose":"Practitioners sharing what works.","topics":["triage"],"host_organisations":["Community Health"],
		"meeting":{"frequency":"monthly","duration_minutes":90,"format":["share","discuss","apply"]}}`)
	e.must(http.StatusOK, nil, nat, "POST", "/v1/cops/"+cop.ID+"/decision", `{"decision":"approve"}`)
	const code = "We share what works and what did not.\n\nWhat is said in a session stays in it unless the speaker agrees."
	e.must(http.StatusOK, nil, nat, "PUT", "/v1/cops/"+cop.ID+"/charter",
		fmt.Sprintf(`{"aims":"Better triage.","terms_of_reference":"Monthly, 90 minutes.","code_of_practice":%q}`, code))
	testkit.Eventually(t, waitFor, func() error {
		var known int
		err := e.n.Pool("membership").QueryRow(context.Background(), `SELECT count(*) FROM cops WHERE id = $1 AND status = 'approved'
			AND code_of_practice_version = 1`, cop.ID).Scan(&known)
		if err == nil && known != 1 {
			err = fmt.Errorf("membership has not heard of the approved CoP and its charter yet")
		}
		if err == nil {
			err = e.n.Pool("console").QueryRow(context.Background(), `SELECT count(*) FROM cops WHERE id = $1 AND name <> ''`, cop.ID).Scan(&known)
			if err == nil && known != 1 {
				err = fmt.Errorf("the console has not heard of the CoP yet")
			}
		}
		return err
	})

	for _, width := range []int{browser.PhoneWidth, browser.DesktopWidth} {
		t.Run(fmt.Sprintf("%d px", width), func(t *testing.T) {
			addr := fmt.Sprintf("invitee-%d@example.org", width)
			inv := e.in(t).invite(nat, fmt.Sprintf(`{"email":%q,"grant":{"role":"member","cop":%q},"name":"Ines Invitee"}`, addr, cop.ID))
			link := linkIn(t, mp.WaitFor(t, addr))
			ctx := browser.New(t, width)
			page := "/invitations/" + inv.ID
			// The link signs the invitee in on the way to the page.
			if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(`#accept-form`)); err != nil {
				t.Fatalf("open the invitation link: %v", err)
			}
			where, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil || where != e.n.URL+page {
				t.Fatalf("landed on %q (%v), want %s", where, err, page)
			}
			what, err := chromedp.Run(ctx, chromedp.Text(`#invitation-what`))
			if err != nil || what != "The copnet team invited you to become a member of Nurses of the Goldfields." {
				t.Errorf("the page says %q (%v)", what, err)
			}
			shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#code-text p")].map(p => p.textContent)`))
			if err != nil || strings.Join(shown, "\n\n") != code {
				t.Errorf("Code of Practice shown %q (%v)", shown, err)
			}
			label, err := chromedp.Run(ctx, chromedp.Text(`label[for=accept-code]`))
			if err != nil || label != "I accept the Code of Practice (version 1)" {
				t.Errorf("checkbox label %q (%v)", label, err)
			}
			browser.Fits(t, ctx, "the invitation page")
			browser.Shoot(t, ctx, fmt.Sprintf("invitation-open-%d", width))
			browser.CheckAccessibility(t, ctx, axe, fmt.Sprintf("the invitation page at %d px", width))

			if width == browser.DesktopWidth {
				// Whoever sent it sees it without the forms only the invitee may answer.
				sender := browser.New(t, width)
				if _, err := chromedp.Call(sender, network.SetCookie, network.SetCookieParams{Name: httpx.AccessCookie, Value: nat, URL: e.n.URL}); err != nil {
					t.Fatal(err)
				}
				if err := chromedp.Do(sender, chromedp.Navigate(e.n.URL+page), chromedp.WaitVisible(`#invitation-status`)); err != nil {
					t.Fatalf("the sender's view: %v", err)
				}
				forms, err := chromedp.Run(sender, chromedp.Evaluate[int](`document.querySelectorAll("form[action^='/auth/invitations/']").length`))
				if err != nil || forms != 0 {
					t.Errorf("the sender is shown %d answer forms (%v)", forms, err)
				}
				status, _ := chromedp.Run(sender, chromedp.Text(`#invitation-status`))
				if !strings.Contains(status, "Only "+addr+", signed in, can accept or decline it.") {
					t.Errorf("the sender's view says %q", status)
				}
				browser.Shoot(t, sender, fmt.Sprintf("invitation-sender-%d", width))
				browser.CheckAccessibility(t, sender, axe, fmt.Sprintf("the sender's view at %d px", width))

				// Without the box ticked the server refuses, whatever the browser checks.
				err = chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("accept-code").required = false`),
					chromedp.Click(`#accept`), chromedp.WaitVisible(`#invitation-error`))
				if err != nil {
					t.Fatalf("accept without ticking: %v", err)
				}
				msg, _ := chromedp.Run(ctx, chromedp.Text(`#invitation-error`))
				if !strings.Contains(msg, "I accept the Code of Practice") {
					t.Errorf("the error says %q", msg)
				}
				if _, ok := e.in(t).members(cop.ID)[e.in(t).personOf(addr)]; ok {
					t.Fatal("joined without accepting the Code of Practice")
				}
				browser.Shoot(t, ctx, fmt.Sprintf("invitation-error-%d", width))
				browser.CheckAccessibility(t, ctx, axe, fmt.Sprintf("the invitation page with its error at %d px", width))
			}

			if err := chromedp.Do(ctx, chromedp.Click(`#accept-code`), chromedp.Click(`#accept`), chromedp.WaitVisible(`#invitation-accepted`)); err != nil {
				t.Fatalf("accept: %v", err)
			}
			if _, ok := e.in(t).members(cop.ID)[e.in(t).personOf(addr)]; !ok {
				t.Fatal("accepting on the page did not join the CoP")
			}
			next, err := chromedp.Run(ctx, chromedp.Text(`#invitation-accepted`))
			if err != nil || !strings.Contains(next, "You are now a member of Nurses of the Goldfields.") {
				t.Errorf("after accepting the page says %q (%v)", next, err)
			}
			browser.Fits(t, ctx, "the accepted invitation")
			browser.Shoot(t, ctx, fmt.Sprintf("invitation-accepted-%d", width))
			browser.CheckAccessibility(t, ctx, axe, fmt.Sprintf("the accepted invitation at %d px", width))
		})
	}
}

// personOf is the id of the person registered with an address ("" when none).
func (e *env) personOf(email string) string {
	e.t.Helper()
	var id string
	_ = e.n.Pool("membership").QueryRow(context.Background(), "SELECT id FROM people WHERE lower(email) = lower($1)", email).Scan(&id)
	return id
}
