package console_test

// Issue 18's program planner, session page and attendance sheet, driven through pages in
// real Chromium with scheduling and membership beside the console on one node. The steps
// are functions (planProgram, rsvp, swapFacilitator, rescheduleSession, cancelSession,
// takeAttendance) so that acceptance scenario 2 can chain them after the charter and the
// invitations.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/scheduling"
)

// programPerson is a member of the journeys' CoP.
type programPerson struct {
	ID, Name string
}

// startProgramNode runs the console with scheduling and membership, and national's region
// vic ("Victoria").
func startProgramNode(t *testing.T) *testkit.Node {
	t.Helper()
	n := startConsole(t, scheduling.Factory, membership.Factory)
	n.Publish(t, events.RegionCreated{RegionID: "vic", Name: "Victoria"})
	return n
}

// programCoP makes an approved CoP in vic with a Code of Practice and the named people as
// members, each willing to facilitate and take notes, as the registry and membership would
// have them after the charter helper's journey (publish, invite, accept).
func programCoP(t *testing.T, n *testkit.Node, cop, name string, names ...string) []programPerson {
	t.Helper()
	n.Publish(t,
		events.CoPProposed{CoPID: cop, Region: "vic", Name: name, Scope: "regional", Topics: []string{"carers"},
			HostOrganisations: []string{"Carers Victoria"}, Stage: "potential"},
		events.CoPApproved{CoPID: cop, Region: "vic"},
		events.CharterPublished{CoPID: cop, Region: "vic", Version: 1})
	nat := n.National(t)
	var people []programPerson
	for i, nm := range names {
		var p struct {
			ID string `json:"id"`
		}
		body := map[string]string{"name": nm, "email": fmt.Sprintf("%s-%d@example.org", cop, i), "organisation": "Community Health"}
		if st := n.JSON(t, "POST", "/v1/people", nat, body, &p); st != http.StatusCreated {
			t.Fatalf("register %s: %d", nm, st)
		}
		people = append(people, programPerson{ID: p.ID, Name: nm})
	}
	// Membership and scheduling learn of the CoP and the members from the stream.
	for _, p := range people {
		testkit.Eventually(t, waitFor, func() error {
			st, raw := n.Do(t, "POST", "/v1/cops/"+cop+"/members", nat, map[string]any{"person_id": p.ID, "code_of_practice_version": 1})
			if st != http.StatusCreated {
				return fmt.Errorf("join %s: %d %s", p.Name, st, raw)
			}
			return nil
		})
	}
	for _, p := range people {
		testkit.Eventually(t, waitFor, func() error {
			st, raw := n.Do(t, "PUT", "/v1/cops/"+cop+"/rotation/"+p.ID, n.Member(t, p.ID), map[string]any{"willing": true})
			if st != http.StatusOK {
				return fmt.Errorf("rotation of %s: %d %s", p.Name, st, raw)
			}
			return nil
		})
	}
	testkit.Eventually(t, waitFor, func() error {
		var got struct {
			Name string `json:"name"`
		}
		if st := n.JSON(t, "GET", "/v1/network/regions/vic", nat, nil, &got); st != http.StatusOK {
			return fmt.Errorf("the console has no region vic yet (%d)", st)
		}
		return nil
	})
	drained(t, n)
	return people
}

// programPlan is what a coordinator types into the planner.
type programPlan struct {
	Title, Sessions, Frequency, Week, Interval, Weekday, Start, Time, Duration, Format string
}

// planProgram fills the planner at /cops/{cop}/program as a person would and sends it; it
// returns the program in words as the page says it back and the sessions' ids in order.
func planProgram(t *testing.T, ctx context.Context, n *testkit.Node, cop string, p programPlan) (string, []string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+"/cops/"+cop+"/program"), chromedp.WaitVisible(`#program-form`)); err != nil {
		t.Fatalf("open the planner: %v", err)
	}
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(`#title`, p.Title), chromedp.SetValue(`#sessions`, p.Sessions),
		chromedp.Click(`#frequency-` + p.Frequency), chromedp.SetValue(`#weekday`, p.Weekday),
		chromedp.SetValue(`#start`, p.Start), chromedp.SetValue(`#time`, p.Time),
		chromedp.SetValue(`#duration`, p.Duration), chromedp.SetValue(`#format`, p.Format),
	}
	if p.Week != "" {
		actions = append(actions, chromedp.SetValue(`#week`, p.Week))
	}
	if p.Interval != "" {
		actions = append(actions, chromedp.SetValue(`#interval`, p.Interval))
	}
	actions = append(actions, chromedp.Click(`#plan-program`), chromedp.WaitVisible(`#program-notice`))
	if err := chromedp.Do(ctx, actions...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML("main"))
		t.Fatalf("plan the program: %v\n%s", err, html)
	}
	words := evalJS[string](t, ctx, `[...document.querySelectorAll('#programs .program-words')].map(e => e.textContent).pop() || ""`)
	ids := evalJS[[]string](t, ctx, `[...document.querySelectorAll('#session-list li')].map(e => e.dataset.session)`)
	return words, ids
}

// roles reads the facilitator and note-taker the program page shows for a session.
func roles(t *testing.T, ctx context.Context, session string) (string, string) {
	t.Helper()
	got := evalJS[[]string](t, ctx, `(() => { const li = document.querySelector('#session-list li[data-session="`+session+`"]');
		const f = li && li.querySelector('[data-role=facilitator]'), n = li && li.querySelector('[data-role=note_taker]');
		return [f ? f.textContent : "", n ? n.textContent : ""]; })()`)
	return got[0], got[1]
}

// openSession opens a session's page.
func openSession(t *testing.T, ctx context.Context, n *testkit.Node, session string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+"/sessions/"+session), chromedp.WaitVisible(`#session-when`)); err != nil {
		t.Fatalf("open session %s: %v", session, err)
	}
}

// swapFacilitator swaps the facilitators of two sessions from the first one's page.
func swapFacilitator(t *testing.T, ctx context.Context, n *testkit.Node, session, with string) {
	t.Helper()
	openSession(t, ctx, n, session)
	if err := chromedp.Do(ctx, chromedp.SetValue(`#swap-role`, "facilitator"), chromedp.SetValue(`#swap-with`, with),
		chromedp.Click(`#swap`), chromedp.WaitVisible(`#session-notice`)); err != nil {
		t.Fatalf("swap facilitators: %v", err)
	}
}

// rescheduleSession moves a session to a local date and time in the CoP's zone.
func rescheduleSession(t *testing.T, ctx context.Context, n *testkit.Node, session, date, clock string) {
	t.Helper()
	openSession(t, ctx, n, session)
	if err := chromedp.Do(ctx, chromedp.SetValue(`#date`, date), chromedp.SetValue(`#time`, clock),
		chromedp.Click(`#reschedule`), chromedp.WaitVisible(`#session-notice`)); err != nil {
		t.Fatalf("reschedule: %v", err)
	}
}

// cancelSession calls a session off with a reason.
func cancelSession(t *testing.T, ctx context.Context, n *testkit.Node, session, reason string) {
	t.Helper()
	openSession(t, ctx, n, session)
	if err := chromedp.Do(ctx, chromedp.SendKeys(`#reason`, reason), chromedp.Click(`#cancel-session`),
		chromedp.WaitVisible(`#session-notice`)); err != nil {
		t.Fatalf("cancel: %v", err)
	}
}

// rsvp answers ahead of a session from its page: "coming" or "apologies".
func rsvp(t *testing.T, ctx context.Context, n *testkit.Node, session, answer string) {
	t.Helper()
	openSession(t, ctx, n, session)
	if err := chromedp.Do(ctx, chromedp.Click(`#rsvp-`+answer), chromedp.WaitVisible(`#my-answer`)); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML("main"))
		t.Fatalf("answer %s: %v\n%s", answer, err, html)
	}
}

// rsvpFromList answers ahead from a list of next sessions (the member's /me/sessions, a
// CoP's program page) and returns what the list then says of the caller's answer.
func rsvpFromList(t *testing.T, ctx context.Context, n *testkit.Node, page, session, answer string) string {
	t.Helper()
	item := `#next-sessions li[data-session="` + session + `"]`
	button := map[string]string{"coming": "I'll come", "apologies": "Send apologies"}[answer]
	if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+page), chromedp.WaitVisible(item)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(item+` form:has(input[value="`+answer+`"]) button`)); err != nil {
		t.Fatalf("press %q on %s: %v", button, page, err)
	}
	// The page comes back from the post: wait for its answer, not the one before.
	// Evaluating may meet the page mid-navigation; that is tried again.
	testkit.Eventually(t, waitFor, func() error {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`((document.querySelector('`+item+` .answer') || {}).textContent || "").trim()`))
		if err == nil && (got == "Will you come?" || got == "") {
			err = fmt.Errorf("the list says %q", got)
		}
		return err
	})
	return text(t, ctx, item+` .answer`)
}

// takeAttendance ticks present for the people listed, apologies for those in apologies,
// and absent for everyone else on the sheet, and saves it, marking the session held.
func takeAttendance(t *testing.T, ctx context.Context, n *testkit.Node, session string, present, apologies []string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+"/sessions/"+session+"/attendance"), chromedp.WaitVisible(`#attendance-form`)); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML("main"))
		t.Fatalf("open the attendance sheet: %v\n%s", err, html)
	}
	people := evalJS[[]string](t, ctx, `[...document.querySelectorAll('.sheet-list li')].map(e => e.dataset.person)`)
	var taps []chromedp.Action[chromedp.Void]
	for _, p := range people {
		status := "absent"
		switch {
		case slices.Contains(present, p):
			status = "attended"
		case slices.Contains(apologies, p):
			status = "apologies"
		}
		// A tap on the big label, as a thumb would.
		taps = append(taps, chromedp.Click(`label[for="mark-`+p+`-`+status+`"]`))
	}
	taps = append(taps, chromedp.Click(`#save-attendance`), chromedp.WaitVisible(`#attendance-notice`))
	if err := chromedp.Do(ctx, taps...); err != nil {
		t.Fatalf("take attendance: %v", err)
	}
}

func ids(people []programPerson) []string {
	out := make([]string, len(people))
	for i, p := range people {
		out[i] = p.ID
	}
	return out
}

var officers = []string{"Aroha Smith", "Ben Nguyen", "Chloe Martin", "Dev Patel", "Emma Wilson", "Farid Haddad", "Grace Lee", "Hemi Walker"}

// TestProgramJourneyInChromium: a coordinator plans a seven-session Share / Discuss / Apply
// program through the form, reads it back in words and sees facilitator and note-taker
// for every session, swaps two facilitators, reschedules one session and cancels another;
// two members answer ahead from the session page (one will come, one sends apologies),
// and the coordinator sees both answers. At 390 px and 1280 px, every page axe-clean.
func TestProgramJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through the program planner")
	}
	axe := chromium.AxeSource(t)
	n := startProgramNode(t)
	melbourne, _ := time.LoadLocation("Australia/Melbourne")
	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		t.Run(fmt.Sprintf("%d px", width), func(t *testing.T) {
			cop := fmt.Sprintf("carers-%d", width)
			people := programCoP(t, n, cop, "Western carers", officers...)
			coord := browserAt(t, n, width, n.Coordinator(t, cop))
			shot := func(ctx context.Context, name string) { look(t, ctx, axe, fmt.Sprintf("program-%s-%d", name, width)) }

			start := time.Now().In(melbourne).AddDate(0, 0, 1).Format(time.DateOnly)
			words, sessions := planProgram(t, coord, n, cop, programPlan{Title: "Share, Discuss, Apply", Sessions: "7",
				Frequency: "monthly", Week: "2", Weekday: "TU", Start: start, Time: "10:00", Duration: "90", Format: "Share / Discuss / Apply"})
			if !strings.HasPrefix(words, "Monthly on the second Tuesday, 10:00–11:30 AE") || !strings.Contains(words, ", 7 sessions from ") {
				t.Errorf("the program in words: %q", words)
			}
			if len(sessions) != 7 {
				t.Fatalf("the page lists %d sessions, want 7", len(sessions))
			}
			// Every session has a facilitator and a different note-taker from the rotation.
			for i, s := range sessions {
				f, nt := roles(t, coord, s)
				if f == "" || nt == "" || f == "nobody yet" || nt == "nobody yet" || f == nt {
					t.Errorf("session %d: facilitator %q, note-taker %q", i+1, f, nt)
				}
			}
			shot(coord, "planned")

			// Swap the facilitator of session 1 with a later session's.
			f1, n1 := roles(t, coord, sessions[0])
			with := ""
			for _, s := range sessions[1:] {
				f, nt := roles(t, coord, s)
				if with == "" && f != n1 && f1 != nt && f != f1 {
					with = s
				}
			}
			if with == "" {
				t.Fatal("no session to swap facilitators with")
			}
			fWith, _ := roles(t, coord, with)
			swapFacilitator(t, coord, n, sessions[0], with)
			if got := text(t, coord, `#session-facilitator`); got != fWith {
				t.Errorf("after the swap session 1's facilitator is %q, want %q", got, fWith)
			}
			shot(coord, "session")

			// Move session 2 to 14:00 a day later; cancel session 7.
			openSession(t, coord, n, sessions[1])
			day := evalJS[string](t, coord, `document.querySelector('#date').value`)
			d, err := time.Parse(time.DateOnly, day)
			if err != nil {
				t.Fatalf("session 2's date field holds %q", day)
			}
			rescheduleSession(t, coord, n, sessions[1], d.AddDate(0, 0, 1).Format(time.DateOnly), "14:00")
			if got := text(t, coord, `#session-when`); !strings.Contains(got, d.AddDate(0, 0, 1).Format("Mon 2 Jan 2006")+", 14:00–15:30 AE") {
				t.Errorf("after rescheduling session 2 is at %q", got)
			}
			cancelSession(t, coord, n, sessions[6], "The venue is closed for the holidays.")
			if got := text(t, coord, `#session-status`); got != "Cancelled: The venue is closed for the holidays." {
				t.Errorf("session 7's status: %q", got)
			}
			shot(coord, "cancelled")

			// Two members answer ahead from the session page.
			aroha := browserAt(t, n, width, n.Member(t, people[0].ID))
			rsvp(t, aroha, n, sessions[0], "coming")
			if got := text(t, aroha, `#my-answer`); !strings.HasPrefix(got, "You said you will come.") {
				t.Errorf("Aroha's page says %q", got)
			}
			shot(aroha, "member")
			ben := browserAt(t, n, width, n.Member(t, people[1].ID))
			rsvp(t, ben, n, sessions[0], "apologies")
			// A member of the CoP is not allowed what runs it: no forms to change the session.
			if has := evalJS[bool](t, ben, `!!document.querySelector('#swap-form, #cancel-form, #reschedule-form')`); has {
				t.Error("a member is shown the forms that change the session")
			}

			// Chloe answers from her list of next sessions, and gets her calendar link there.
			chloe := browserAt(t, n, width, n.Member(t, people[2].ID))
			if got := rsvpFromList(t, chloe, n, "/me/sessions", sessions[0], "coming"); got != "You said you will come." {
				t.Errorf("Chloe's list says %q after answering", got)
			}
			if err := chromedp.Do(chloe, chromedp.Click(`#get-calendar-link`), chromedp.WaitVisible(`#calendar-feed`)); err != nil {
				t.Fatalf("get the calendar link: %v", err)
			}
			if href := evalJS[string](t, chloe, `document.querySelector('#calendar-feed').href`); !strings.HasPrefix(href, "webcal://") || !strings.Contains(href, "/v1/people/"+people[2].ID+"/calendar.ics?key=") {
				t.Errorf("the calendar link is %q", href)
			}
			shot(chloe, "mysessions")

			openSession(t, coord, n, sessions[0])
			if got := text(t, coord, `#answers-coming`); got != "Coming (2): Aroha Smith, Chloe Martin" {
				t.Errorf("the coordinator reads %q", got)
			}
			if got := text(t, coord, `#answers-apologies`); got != "Apologies (1): Ben Nguyen" {
				t.Errorf("the coordinator reads %q", got)
			}
			// The program page shows the changes: session 7 cancelled, the swap kept.
			if err := chromedp.Do(coord, chromedp.Navigate(n.URL+"/cops/"+cop+"/program"), chromedp.WaitVisible(`#session-list`)); err != nil {
				t.Fatal(err)
			}
			if f, _ := roles(t, coord, sessions[0]); f != fWith {
				t.Errorf("the program page shows session 1's facilitator as %q, want %q", f, fWith)
			}
			if cls := evalJS[string](t, coord, `document.querySelector('#session-list li[data-session="`+sessions[6]+`"]').className`); !strings.Contains(cls, "cancelled") {
				t.Errorf("session 7 is shown as %q", cls)
			}
			shot(coord, "after")
		})
	}
}

// TestAttendanceDeclineJourneyInChromium is acceptance scenario 3: the coordinator takes
// attendance on a 390 px phone for six weekly sessions with falling numbers (8, 7, 7, 4,
// 3, 2 of 8 members present); scheduling judges participation declining, the coordinator
// sees it on the program page (#participation-declining) and the vic hub on the region
// page (the health table's row of the CoP says "Declining").
func TestAttendanceDeclineJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through six attendance sheets")
	}
	axe := chromium.AxeSource(t)
	n := startProgramNode(t)
	cop := "carers-decline"
	people := programCoP(t, n, cop, "Carers west", officers...)
	phone := browserAt(t, n, chromium.PhoneWidth, n.Coordinator(t, cop))

	// Six weekly sessions that have all taken place: the first eight weeks ago.
	melbourne, _ := time.LoadLocation("Australia/Melbourne")
	start := time.Now().In(melbourne).AddDate(0, 0, -7*8).Format(time.DateOnly)
	words, sessions := planProgram(t, phone, n, cop, programPlan{Title: "Share, Discuss, Apply", Sessions: "6",
		Frequency: "weekly", Interval: "1", Weekday: "WE", Start: start, Time: "18:00", Duration: "90", Format: "Share / Discuss / Apply"})
	if !strings.HasPrefix(words, "Weekly on Wednesday, 18:00–19:30 AE") {
		t.Errorf("the program in words: %q", words)
	}
	if len(sessions) != 6 {
		t.Fatalf("%d sessions planned, want 6", len(sessions))
	}
	all := ids(people)
	for i, present := range []int{8, 7, 7, 4, 3, 2} {
		// Those not present sent apologies when one short of the last count, else are absent.
		var apologies []string
		if present < 8 {
			apologies = all[present : present+1]
		}
		takeAttendance(t, phone, n, sessions[i], all[:present], apologies)
		if i == 0 || i == 5 {
			look(t, phone, axe, fmt.Sprintf("attendance-%d-390", i+1))
		}
		// The sheet shows what was saved: the session is held, the ticks stay.
		if got := evalJS[int](t, phone, `document.querySelectorAll('.marks input[value=attended]:checked').length`); got != present {
			t.Errorf("session %d: the saved sheet ticks %d present, want %d", i+1, got, present)
		}
		if !evalJS[bool](t, phone, `!!document.querySelector('#already-held')`) {
			t.Errorf("session %d is not shown as held", i+1)
		}
	}

	// The coordinator sees the decline on the program page.
	testkit.Eventually(t, waitFor, func() error {
		if err := chromedp.Do(phone, chromedp.Navigate(n.URL+"/cops/"+cop+"/program"), chromedp.WaitReady(`main`)); err != nil {
			return err
		}
		if !evalJS[bool](t, phone, `!!document.querySelector('#participation-declining')`) {
			return fmt.Errorf("the program page shows no decline")
		}
		return nil
	})
	look(t, phone, axe, "attendance-declining-program-390")

	// The hub sees it on the region page's health table, once the console has the event.
	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		hubB := browserAt(t, n, width, hub(t, n, "vic"))
		row := `#health tr[data-cop="` + cop + `"]`
		testkit.Eventually(t, waitFor, func() error {
			if err := chromedp.Do(hubB, chromedp.Navigate(n.URL+"/regions/vic"), chromedp.WaitReady(`main`)); err != nil {
				return err
			}
			flag := evalJS[string](t, hubB, `((document.querySelector('`+row+` .warn') || {}).textContent || "")`)
			if flag != "Declining" {
				return fmt.Errorf("the region page's row of %s flags %q", cop, flag)
			}
			return nil
		})
		look(t, hubB, axe, fmt.Sprintf("attendance-declining-region-%d", width))
	}
}
