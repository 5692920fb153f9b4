package console_test

// Issue 18's charter and roster journey, the charter half of acceptance scenario 2, driven
// only through pages in real Chromium at a phone's width and a desktop's, with the registry
// and membership beside the console on one node and real mail through Mailpit: a
// coordinator publishes a charter (version 1), invites eight officers from the roster, an
// officer follows the mailed link and accepts the invitation and the Code of Practice, the
// coordinator publishes version 2 of the Code of Practice, the roster shows who has not
// accepted it, and the officer reads what changed and accepts version 2. Every page is
// screenshotted, checked for sideways scrolling and by axe-core.
//
// Each step is a function of its own (publishCharter, inviteOfficers, acceptInvitation,
// rosterNotAccepted, acceptCodeOfPractice), so that the whole of scenario 2 can chain
// them with the program's steps.

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
)

// invitationLink is the link of an invitation mail.
var invitationLink = regexp.MustCompile(`http://\S+/auth/invitation\?t=\S+`)

// charterNode is a node running the registry, membership and the console, mailing through
// a fresh Mailpit, with region vic.
func charterNode(t *testing.T) (*testkit.Node, *testkit.MailpitServer) {
	t.Helper()
	mp := testkit.Mailpit(t)
	t.Setenv("COPNET_SMTP_URL", mp.SMTPURL())
	t.Setenv("COPNET_MAIL_FROM", "copnet <noreply@copnet.example>")
	n := startConsole(t, registry.Factory, membership.Factory)
	if st := n.JSON(t, "POST", "/v1/regions", n.National(t), map[string]string{"id": "vic", "name": "Victoria"}, nil); st != http.StatusCreated {
		t.Fatalf("create region vic: %d", st)
	}
	return n, mp
}

// registeredCoP is a CoP the vic hub proposed and approved (scenario 1 shows that part in
// pages), once membership and the console have heard of it.
func registeredCoP(t *testing.T, n *testkit.Node, name string) string {
	t.Helper()
	var cop struct{ ID string }
	hubTok := n.Hub(t, "vic")
	if st := n.JSON(t, "POST", "/v1/cops", hubTok, map[string]any{"name": name, "region": "vic", "scope": "regional",
		"purpose": "Public health officers sharing what works in community engagement.", "topics": []string{"engagement"},
		"host_organisations": []string{"Department of Health"},
		"meeting":            map[string]any{"frequency": "monthly", "duration_minutes": 90, "format": []string{"share", "discuss", "apply"}}}, &cop); st != http.StatusCreated {
		t.Fatalf("propose %s: %d", name, st)
	}
	if st := n.JSON(t, "POST", "/v1/cops/"+cop.ID+"/decision", hubTok, map[string]string{"decision": "approve"}, nil); st != http.StatusOK {
		t.Fatalf("approve %s: %d", name, st)
	}
	testkit.Eventually(t, waitFor, func() error {
		var known int
		err := n.Pool("membership").QueryRow(context.Background(), `SELECT count(*) FROM cops WHERE id = $1 AND status = 'approved'`, cop.ID).Scan(&known)
		if err == nil && known == 1 {
			err = n.Pool("console").QueryRow(context.Background(), `SELECT count(*) FROM cops WHERE id = $1 AND name <> ''`, cop.ID).Scan(&known)
		}
		if err == nil && known != 1 {
			err = fmt.Errorf("membership or the console has not heard of %s yet", name)
		}
		return err
	})
	return cop.ID
}

// lookAt screenshots the page as charter-<name>-<width> and fails on sideways scrolling
// and on axe-core's serious or critical findings.
func lookAt(t *testing.T, ctx context.Context, axe, name string, width int) {
	t.Helper()
	what := fmt.Sprintf("%s at %d px", name, width)
	screenshot(t, ctx, fmt.Sprintf("charter-%s-%d", name, width))
	chromium.Fits(t, ctx, what)
	chromium.CheckAccessibility(t, ctx, axe, what)
}

// words is the text of sel as a screen reader reads it (textContent: hidden labels
// included), its white space collapsed.
func words(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).textContent`, sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// codeVersionKnown waits until membership asks members to accept version v of cop's Code of
// Practice (the registry's charter_published has reached it).
func codeVersionKnown(t *testing.T, n *testkit.Node, cop string, v int) {
	t.Helper()
	testkit.Eventually(t, waitFor, func() error {
		var reg struct {
			Version int `json:"code_of_practice_version"`
		}
		if st := n.JSON(t, "GET", "/v1/cops/"+cop+"/registration", n.National(t), nil, &reg); st != http.StatusOK || reg.Version != v {
			return fmt.Errorf("membership knows Code of Practice version %d (status %d), want %d", reg.Version, st, v)
		}
		return nil
	})
}

// publishCharter has the signed-in coordinator (or working group) publish the next charter
// version from the editor, and waits until membership asks members to accept it.
func publishCharter(t *testing.T, ctx context.Context, n *testkit.Node, cop string, version int, aims, terms, code string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+"/cops/"+cop+"/charter"), chromedp.WaitVisible(`#charter-form`),
		chromedp.SetValue(`#aims`, aims), chromedp.SetValue(`#terms_of_reference`, terms), chromedp.SetValue(`#code_of_practice`, code),
		chromedp.Click(`#publish`), chromedp.WaitVisible(`#charter-notice`)); err != nil {
		t.Fatalf("publish charter version %d: %v", version, err)
	}
	if s := text(t, ctx, `#current-h`); s != fmt.Sprintf("Current charter (version %d)", version) {
		t.Errorf("after publishing the page shows %q", s)
	}
	codeVersionKnown(t, n, cop, version)
}

// inviteOfficers has the signed-in coordinator invite people from the roster's invite box,
// one "Name <address>" a line, and waits for each mail in Mailpit.
func inviteOfficers(t *testing.T, ctx context.Context, n *testkit.Node, mp *testkit.MailpitServer, cop string, officers map[string]string) {
	t.Helper()
	var lines []string
	for addr, name := range officers {
		lines = append(lines, fmt.Sprintf("%s <%s>", name, addr))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+"/cops/"+cop+"/roster"), chromedp.WaitVisible(`#invite-form`),
		chromedp.SetValue(`#emails`, strings.Join(lines, "\n")), chromedp.Click(`#invite`), chromedp.WaitVisible(`#roster-notice`)); err != nil {
		t.Fatalf("invite officers: %v", err)
	}
	if s := text(t, ctx, `#roster-notice`); !strings.HasPrefix(s, fmt.Sprintf("Invitations sent: %d.", len(officers))) {
		t.Errorf("after inviting the roster says %q", s)
	}
	for addr := range officers {
		if m := mp.WaitFor(t, addr); !strings.Contains(m.Text, "/auth/invitation?t=") {
			t.Errorf("the mail to %s has no invitation link:\n%s", addr, m.Text)
		}
	}
}

// acceptInvitation opens the invitation link mailed to addr in a new browser, which signs
// the officer in, and accepts the invitation and the Code of Practice shown. It returns the
// officer's browser, signed in.
func acceptInvitation(t *testing.T, n *testkit.Node, mp *testkit.MailpitServer, addr string, width int, axe string) context.Context {
	t.Helper()
	link := invitationLink.FindString(mp.WaitFor(t, addr).Text)
	if link == "" {
		t.Fatalf("no invitation link in the mail to %s", addr)
	}
	ctx := chromium.New(t, width)
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(`#accept-form`)); err != nil {
		t.Fatalf("follow the invitation link: %v", err)
	}
	if s := text(t, ctx, `#code-text`); !strings.Contains(s, "We listen first") {
		t.Errorf("the invitation shows the Code of Practice %q", s)
	}
	lookAt(t, ctx, axe, "invitation", width)
	if err := chromedp.Do(ctx, chromedp.Click(`#accept-code`), chromedp.Click(`#accept`), chromedp.WaitVisible(`#invitation-accepted`)); err != nil {
		t.Fatalf("accept the invitation: %v", err)
	}
	return ctx
}

// rosterNotAccepted opens the roster and returns what it says about the members who have
// not accepted the current Code of Practice ("" when everyone has).
func rosterNotAccepted(t *testing.T, ctx context.Context, n *testkit.Node, cop string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+"/cops/"+cop+"/roster"), chromedp.WaitVisible(`#members-h`)); err != nil {
		t.Fatalf("open the roster: %v", err)
	}
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("not-accepted") || {textContent: ""}).textContent`))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(s)
}

// acceptCodeOfPractice has the signed-in member open the CoP's acceptance page, read what
// changed (returned, as the page's text of the changes), and accept the current version.
func acceptCodeOfPractice(t *testing.T, ctx context.Context, n *testkit.Node, cop string, version int, look func(string)) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(n.URL+"/cops/"+cop+"/accept"), chromedp.WaitVisible(`#accept-form`)); err != nil {
		t.Fatalf("open the acceptance page: %v", err)
	}
	changes := words(t, ctx, `#changes`)
	look("accept")
	if err := chromedp.Do(ctx, chromedp.Click(`#accept-code`), chromedp.Click(`#accept`), chromedp.WaitVisible(`#accept-notice`)); err != nil {
		t.Fatalf("accept version %d: %v", version, err)
	}
	if s := text(t, ctx, `#up-to-date`); !strings.Contains(s, fmt.Sprintf("(version %d)", version)) {
		t.Errorf("after accepting the page says %q", s)
	}
	look("accepted")
	return changes
}

const (
	charterAims  = "Public health officers across Victoria get better at engaging communities, together."
	charterTerms = "We meet monthly for 90 minutes: Share, Discuss, Apply.\nThe working group plans the program."
	codeV1       = "We listen first.\nWhat is said in a session stays in it.\nWe arrive on time."
	codeV2       = "We listen first.\nWhat is said in a session stays in it unless the speaker agrees.\nWe arrive on time.\nWe send apologies ahead."
)

func TestCharterAndRosterJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through the charter and roster journey")
	}
	axe := chromium.AxeSource(t)
	n, mp := charterNode(t)
	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		t.Run(fmt.Sprintf("%d px", width), func(t *testing.T) {
			cop := registeredCoP(t, n, fmt.Sprintf("Engagement officers %d", width))
			coord := browserAt(t, n, width, n.Coordinator(t, cop))
			look := func(ctx context.Context) func(string) {
				return func(name string) { lookAt(t, ctx, axe, name, width) }
			}

			publishCharter(t, coord, n, cop, 1, charterAims, charterTerms, codeV1)
			look(coord)("published")

			officers := map[string]string{}
			for i := 1; i <= 8; i++ {
				officers[fmt.Sprintf("officer%d-%d@example.org", i, width)] = fmt.Sprintf("Officer %d", i)
			}
			inviteOfficers(t, coord, n, mp, cop, officers)
			if s := text(t, coord, `#invitations-h`); s != "Invitations waiting for an answer (8)" {
				t.Errorf("the roster's invitations heading says %q", s)
			}
			look(coord)("invited")

			first := fmt.Sprintf("officer1-%d@example.org", width)
			officer := acceptInvitation(t, n, mp, first, width, axe)
			look(officer)("joined")

			publishCharter(t, coord, n, cop, 2, charterAims, charterTerms, codeV2)
			if s := words(t, coord, `#compare`); !strings.Contains(s, "added: We send apologies ahead.") {
				t.Errorf("the charter page's comparison does not show the added line:\n%s", s)
			}
			look(coord)("v2")
			if s := rosterNotAccepted(t, coord, n, cop); s != "1 of 1 member has not yet accepted the current Code of Practice (version 2): Officer 1." {
				t.Errorf("the roster says %q", s)
			}
			look(coord)("roster-not-accepted")

			// The officer's own page asks them to accept the new version.
			if err := chromedp.Do(officer, chromedp.Navigate(n.URL+"/me"), chromedp.WaitVisible(`#also-waiting`)); err != nil {
				t.Fatalf("the officer's page: %v", err)
			}
			if s := text(t, officer, `#also-waiting li[data-accept="`+cop+`"]`); !strings.Contains(s, "(version 2)") {
				t.Errorf("the officer's page says %q", s)
			}
			look(officer)("me-to-accept")

			changes := acceptCodeOfPractice(t, officer, n, cop, 2, look(officer))
			for _, want := range []string{"stays in it added: unless the speaker agrees.", "added: We send apologies ahead."} {
				if !strings.Contains(changes, want) {
					t.Errorf("the changes shown lack %q:\n%s", want, changes)
				}
			}
			if s := rosterNotAccepted(t, coord, n, cop); s != "" {
				t.Errorf("after the officer accepted, the roster still says %q", s)
			}
			if s := text(t, coord, `#all-accepted`); !strings.Contains(s, "version 2") {
				t.Errorf("the roster says %q", s)
			}
			look(coord)("roster-accepted")

			// The directory is for members: the officer reads it, names and organisations.
			if err := chromedp.Do(officer, chromedp.Navigate(n.URL+"/cops/"+cop+"/directory"), chromedp.WaitVisible(`#directory`)); err != nil {
				t.Fatalf("the officer's directory: %v", err)
			}
			if s := text(t, officer, `#directory tbody`); !strings.Contains(s, "Officer 1") {
				t.Errorf("the directory shows %q", s)
			}
			look(officer)("directory")
		})
	}
}
