package console_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
	"github.com/copnet/copnet/services/scheduling"
)

// TestCoordinatorStartsACoPJourneyInChromium is acceptance scenario 2 of issue 18, driven
// only through pages: a coordinator publishes the CoP's charter, invites eight officers from
// the roster (the mails arrive in Mailpit), each officer follows the mailed link, accepts
// the invitation and the Code of Practice and says they will take their turn; the
// coordinator plans seven sessions, monthly on the second Tuesday, Share / Discuss / Apply,
// and sees the rotation give every session a facilitator and a note-taker from the
// officers; officers say ahead whether they will come, and the coordinator reads it.
//
// Officers use phones (390 px), the coordinator a desktop; the coordinator's pages are
// looked at on a phone too. Every page: screenshot, axe-core, no sideways scrolling.
func TestCoordinatorStartsACoPJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through acceptance scenario 2 with nine people")
	}
	axe := chromium.AxeSource(t)
	mp := testkit.Mailpit(t)
	t.Setenv("COPNET_SMTP_URL", mp.SMTPURL())
	t.Setenv("COPNET_MAIL_FROM", "copnet <noreply@copnet.example>")
	n := startConsole(t, registry.Factory, membership.Factory, scheduling.Factory)
	if st := n.JSON(t, "POST", "/v1/regions", n.National(t), map[string]string{"id": "vic", "name": "Victoria"}, nil); st != http.StatusCreated {
		t.Fatalf("create region vic: %d", st)
	}
	shot := func(ctx context.Context, name string, width int) {
		look(t, ctx, axe, fmt.Sprintf("scenario2-%s-%d", name, width))
	}

	cop := registeredCoP(t, n, "Community engagement officers")
	coord := browserAt(t, n, chromium.DesktopWidth, n.Coordinator(t, cop))
	publishCharter(t, coord, n, cop, 1, charterAims, charterTerms, codeV1)
	shot(coord, "charter", chromium.DesktopWidth)

	invitees := map[string]string{}
	for i, name := range officers {
		invitees[fmt.Sprintf("officer%d@health.example.org", i+1)] = name
	}
	inviteOfficers(t, coord, n, mp, cop, invitees)
	shot(coord, "invited", chromium.DesktopWidth)

	// Each officer accepts on their phone and offers to take their turn. Scheduling hears of
	// the new member from membership's event: until it has, the page says the answer was
	// not saved, and the officer tries again.
	phones := map[string]context.Context{}
	for addr, name := range invitees {
		ctx := acceptInvitation(t, n, mp, addr, chromium.PhoneWidth, axe)
		phones[name] = ctx
		testkit.Eventually(t, waitFor, func() error {
			if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+"/cops/"+cop+"/program")); err != nil {
				return err
			}
			if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('#rotation-yes')`)); err != nil || !ok {
				return fmt.Errorf("%s's program page has no rotation form yet (%v)", name, err)
			}
			if err := chromedp.Do(ctx, chromedp.Click(`#rotation-yes`), chromedp.WaitVisible(`#program-notice, #program-error`)); err != nil {
				return err
			}
			if got := text(t, ctx, `main`); !strings.Contains(got, "You are in the rotation") {
				return fmt.Errorf("%s's program page says %q", name, got)
			}
			return nil
		})
	}
	shot(phones[officers[0]], "officer-in-rotation", chromium.PhoneWidth)
	if s := rosterNotAccepted(t, coord, n, cop); s != "" {
		t.Errorf("after all eight accepted, the roster says %q", s)
	}
	shot(coord, "roster", chromium.DesktopWidth)

	melbourne, _ := time.LoadLocation("Australia/Melbourne")
	start := time.Now().In(melbourne).AddDate(0, 0, 1).Format(time.DateOnly)
	words, sessions := planProgram(t, coord, n, cop, programPlan{Title: "Share, Discuss, Apply", Sessions: "7",
		Frequency: "monthly", Week: "2", Weekday: "TU", Start: start, Time: "10:00", Duration: "90", Format: "Share / Discuss / Apply"})
	if !strings.HasPrefix(words, "Monthly on the second Tuesday, 10:00–11:30 AE") || !strings.Contains(words, ", 7 sessions from ") {
		t.Errorf("the program in words: %q", words)
	}
	if len(sessions) != 7 {
		t.Fatalf("the planner lists %d sessions, want 7", len(sessions))
	}
	// The rotation: every session has a facilitator and a different note-taker, all of them
	// officers, and the turns are spread over the officers (seven sessions, two roles each,
	// eight willing officers: nobody takes more than two turns).
	turns := map[string]int{}
	for i, s := range sessions {
		f, nt := roles(t, coord, s)
		if !slices.Contains(officers, f) || !slices.Contains(officers, nt) || f == nt {
			t.Errorf("session %d: facilitator %q, note-taker %q", i+1, f, nt)
		}
		turns[f]++
		turns[nt]++
	}
	for who, k := range turns {
		if k > 2 {
			t.Errorf("%s takes %d turns of 14", who, k)
		}
	}
	shot(coord, "program", chromium.DesktopWidth)
	coordPhone := browserAt(t, n, chromium.PhoneWidth, n.Coordinator(t, cop))
	if err := chromedp.Do(coordPhone, chromedp.Navigate(n.URL+"/cops/"+cop+"/program"), chromedp.WaitVisible(`#session-list`)); err != nil {
		t.Fatal(err)
	}
	shot(coordPhone, "program", chromium.PhoneWidth)

	// Officers answer ahead for the first session: five come, one sends apologies.
	for _, name := range officers[:5] {
		rsvp(t, phones[name], n, sessions[0], "coming")
	}
	rsvp(t, phones[officers[5]], n, sessions[0], "apologies")
	shot(phones[officers[5]], "officer-apologies", chromium.PhoneWidth)
	openSession(t, coord, n, sessions[0])
	coming := slices.Clone(officers[:5])
	slices.Sort(coming)
	if got, want := text(t, coord, `#answers-coming`), "Coming (5): "+strings.Join(coming, ", "); got != want {
		t.Errorf("the coordinator reads %q, want %q", got, want)
	}
	if got, want := text(t, coord, `#answers-apologies`), "Apologies (1): "+officers[5]; got != want {
		t.Errorf("the coordinator reads %q, want %q", got, want)
	}
	shot(coord, "answers", chromium.DesktopWidth)
}
