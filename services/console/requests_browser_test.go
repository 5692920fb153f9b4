package console_test

// Issue 18's scenario 6 in Chromium: an Otago organisation asks how to fund its work after
// the project period; a Victorian expert, who declared the topic on their expertise page
// with national visibility, answers from their inbox; the asker reads the answer by the
// expert's name and organisation and closes the question. The console, knowledge,
// membership and notify run on one node (mail in Mailpit); every page is driven as its
// people would, without scripts.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/knowledge"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/notify"
)

// checkRequestsPage saves a screenshot and checks the page fits the width and is axe-clean.
func checkRequestsPage(t *testing.T, ctx context.Context, axe, name string, width int) {
	t.Helper()
	what := fmt.Sprintf("%s at %d px", name, width)
	screenshot(t, ctx, fmt.Sprintf("requests-%s-%d", name, width))
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowCheck))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", what, p)
	}
	chromium.CheckAccessibility(t, ctx, axe, what)
}

// requestsNode runs the console, knowledge and membership with two approved CoPs, an
// Otago one and a Victorian one, and registers the asker (a member of the Otago CoP), the
// expert (of the Victorian CoP) and a bystander (another Otago member). It returns the
// node and their tokens.
func requestsNode(t *testing.T, width int) (n *testkit.Node, asker, expert, bystander string) {
	t.Helper()
	n = startConsole(t, knowledge.Factory, membership.Factory, notify.Factory)
	register := func(name, email, org string) string {
		var p struct {
			ID string `json:"id"`
		}
		if st := n.JSON(t, "POST", "/v1/people", n.National(t), map[string]string{"name": name, "email": email, "organisation": org}, &p); st != http.StatusCreated {
			t.Fatalf("register %s: %d", name, st)
		}
		return p.ID
	}
	askerID := register("Aroha Ngata", fmt.Sprintf("aroha-%d@example.org", width), "Otago Catchment Trust")
	expertID := register("Sam Lee", fmt.Sprintf("sam-%d@example.org", width), "Landcare Victoria")
	bystanderID := register("Ben Hall", fmt.Sprintf("ben-%d@example.org", width), "Otago Catchment Trust")
	n.Publish(t,
		events.RegionCreated{RegionID: "otago", Name: "Otago"},
		events.RegionCreated{RegionID: "vic", Name: "Victoria"},
		events.CoPProposed{CoPID: "cop-otago", Region: "otago", Name: "Otago Catchment Restoration", Scope: "regional",
			Topics: []string{"catchments"}, HostOrganisations: []string{"Otago Catchment Trust"}, Stage: "potential"},
		events.CoPProposed{CoPID: "cop-vic", Region: "vic", Name: "Victorian Landcare Practitioners", Scope: "regional",
			Topics: []string{"landcare"}, HostOrganisations: []string{"Landcare Victoria"}, Stage: "potential"},
		events.CoPApproved{CoPID: "cop-otago", Region: "otago"},
		events.CoPApproved{CoPID: "cop-vic", Region: "vic"},
		events.MemberJoined{CoPID: "cop-otago", Region: "otago", PersonID: askerID, CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: "cop-otago", Region: "otago", PersonID: bystanderID, CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: "cop-vic", Region: "vic", PersonID: expertID, CodeOfPracticeVersion: 1},
	)
	drained(t, n)
	member := func(id, cop string) string {
		return n.Token(t, httpx.Claims{Subject: id, Grants: []httpx.Grant{{Role: httpx.RoleMember, CoP: cop}}})
	}
	return n, member(askerID, "cop-otago"), member(expertID, "cop-vic"), member(bystanderID, "cop-otago")
}

func TestRequestsJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through asking, answering and closing a question")
	}
	axe := chromium.AxeSource(t)
	mp := testkit.Mailpit(t)
	t.Setenv("COPNET_SMTP_URL", mp.SMTPURL())
	t.Setenv("COPNET_MAIL_FROM", "copnet <noreply@copnet.example>")
	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		t.Run(fmt.Sprintf("%d px", width), func(t *testing.T) {
			n, askerTok, expertTok, bystanderTok := requestsNode(t, width)
			// The Victorian expert declares their expertise: their name and organisation come
			// from their account; they choose who may see it.
			expert := browserAt(t, n, width, expertTok)
			must(t, expert, "open the expertise page", chromedp.Navigate(n.URL+"/me/expertise"), chromedp.WaitVisible(`#expertise-form`))
			if s := text(t, expert, `#nothing-declared`); !strings.Contains(s, "not declared any expertise") {
				t.Errorf("a new expert's page says %q", s)
			}
			name, _ := chromedp.Run(expert, chromedp.Value(`#name`))
			org, _ := chromedp.Run(expert, chromedp.Value(`#organisation`))
			if name != "Sam Lee" || org != "Landcare Victoria" {
				t.Errorf("the card is filled in as %q, %q, want the expert's own record", name, org)
			}
			checkRequestsPage(t, expert, axe, "expertise-new", width)
			must(t, expert, "declare expertise",
				chromedp.SendKeys(`#topics`, "funding, sustainability"),
				chromedp.SendKeys(`#description`, "Kept three landcare groups going after their grants ended."),
				chromedp.SetValue(`#level`, "expert"),
				chromedp.Click(`input[name=visibility][value=national]`),
				chromedp.Click(`#declare`),
				chromedp.WaitVisible(`#expertise-notice`))
			if s := text(t, expert, `#declared`); !strings.Contains(s, "funding, sustainability") || !strings.Contains(s, "Anyone in the network") ||
				!strings.Contains(s, "Victorian Landcare Practitioners") {
				t.Errorf("the declared expertise reads:\n%s", s)
			}
			checkRequestsPage(t, expert, axe, "expertise-declared", width)

			// The Otago member asks; a question without topics is refused, keeping what they typed.
			asker := browserAt(t, n, width, askerTok)
			must(t, asker, "open the ask page", chromedp.Navigate(n.URL+"/requests"), chromedp.WaitVisible(`#mine-empty`),
				chromedp.Click(`#ask-link`), chromedp.WaitVisible(`#ask-form`))
			if s := text(t, asker, `#cop`); !strings.Contains(s, "Otago Catchment Restoration") {
				t.Errorf("the asker asks from %q", s)
			}
			checkRequestsPage(t, asker, axe, "ask", width)
			const question = "Our catchment project ends in June. How have other groups funded their restoration work after the project period?"
			// The browser would stop an empty required field itself; the page's own refusal is
			// what a browser that does not check meets.
			evalJS[bool](t, asker, `document.querySelector('#topics').removeAttribute('required') || true`)
			must(t, asker, "send a question without topics", chromedp.SendKeys(`#question`, question),
				chromedp.Click(`#send-question`), chromedp.WaitVisible(`#ask-error`))
			if s := text(t, asker, `#ask-error`); !strings.Contains(s, "Topics: name at least one") {
				t.Errorf("the refusal says %q, want it to name the topics", s)
			}
			if v, _ := chromedp.Run(asker, chromedp.Value(`#question`)); v != question {
				t.Errorf("the refused form kept the question %q", v)
			}
			checkRequestsPage(t, asker, axe, "ask-refused", width)
			must(t, asker, "send the question", chromedp.SendKeys(`#topics`, "funding"), chromedp.Click(`#send-question`),
				chromedp.WaitVisible(`#request-notice`))
			where, err := chromedp.Run(asker, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			requestURL := strings.Split(where, "?")[0]
			if s := text(t, asker, `#experts`); !strings.Contains(s, "Sam Lee") || !strings.Contains(s, "Landcare Victoria") ||
				!strings.Contains(s, "elsewhere in the network") {
				t.Errorf("the question went to:\n%s", s)
			}
			checkRequestsPage(t, asker, axe, "asked", width)

			// notify tells the expert, with a link to the question.
			requestPath := strings.TrimPrefix(requestURL, n.URL)
			if m := mp.WaitFor(t, fmt.Sprintf("sam-%d@example.org", width)); !strings.Contains(m.Text, requestPath) {
				t.Errorf("the expert's mail does not link to %s:\n%s", requestPath, m.Text)
			}

			// Someone it does not concern cannot read it, even from the asker's own CoP.
			bystander := browserAt(t, n, width, bystanderTok)
			if st := visit(t, bystander, requestURL); st != http.StatusForbidden {
				t.Errorf("a bystander opening the question → %d, want 403", st)
			}

			// Their own page says a question waits for them, and lists what they declared.
			must(t, expert, "open the expert's page", chromedp.Navigate(n.URL+"/me"), chromedp.WaitVisible(`#also-waiting`))
			if s := text(t, expert, `#also-waiting li[data-request]`); !strings.Contains(s, "A question for you: "+question) {
				t.Errorf("the expert's page says of the question %q", s)
			}
			if s := text(t, expert, `#my-expertise`); !strings.Contains(s, "funding") {
				t.Errorf("the expert's page lists their expertise as %q", s)
			}
			checkRequestsPage(t, expert, axe, "me", width)

			// The expert finds it in their inbox and answers.
			must(t, expert, "open the inbox", chromedp.Navigate(n.URL+"/requests"), chromedp.WaitVisible(`#inbox`))
			if s := text(t, expert, `#inbox`); !strings.Contains(s, question) || !strings.Contains(s, "Otago Catchment Restoration") ||
				!strings.Contains(s, "no answer yet") {
				t.Errorf("the inbox reads:\n%s", s)
			}
			checkRequestsPage(t, expert, axe, "inbox", width)
			const answer = "We asked our council to put the work in its long-term plan a year before our grant ended, and applied to the regional environment fund for the gap."
			must(t, expert, "answer", chromedp.Click(`#inbox a.task`), chromedp.WaitVisible(`#answer-form`))
			checkRequestsPage(t, expert, axe, "to-answer", width)
			must(t, expert, "send the answer", chromedp.SendKeys(`#body`, answer), chromedp.Click(`#send-answer`),
				chromedp.WaitVisible(`#request-notice`))
			if s := text(t, expert, `#answers`); !strings.Contains(s, answer) || !strings.Contains(s, "You") {
				t.Errorf("after answering the expert sees:\n%s", s)
			}
			checkRequestsPage(t, expert, axe, "answered", width)

			// The asker is told by mail and reads the answer by the expert's name (their list
			// counts it too), and closes the question.
			if m := mp.WaitFor(t, fmt.Sprintf("aroha-%d@example.org", width)); !strings.Contains(m.Text, requestPath) {
				t.Errorf("the asker's mail does not link to %s:\n%s", requestPath, m.Text)
			}
			must(t, asker, "reopen the question", chromedp.Navigate(n.URL+"/requests"), chromedp.WaitVisible(`#mine`))
			if s := text(t, asker, `#mine`); !strings.Contains(s, "1 answer") {
				t.Errorf("the asker's list reads:\n%s", s)
			}
			must(t, asker, "open the question", chromedp.Click(`#mine a.task`), chromedp.WaitVisible(`#answers`))
			if s := text(t, asker, `#answers`); !strings.Contains(s, answer) || !strings.Contains(s, "Sam Lee, Landcare Victoria") {
				t.Errorf("the asker reads the answers:\n%s", s)
			}
			checkRequestsPage(t, asker, axe, "read", width)
			must(t, asker, "close the question", chromedp.Click(`#close-request`), chromedp.WaitVisible(`#request-notice`))
			if s := text(t, asker, `#request-status`); s != "Closed" {
				t.Errorf("after closing the status reads %q", s)
			}
			checkRequestsPage(t, asker, axe, "closed", width)

			// Closed, it takes no more answers: the expert's page offers no form.
			must(t, expert, "reload the answered question", chromedp.Navigate(requestURL), chromedp.WaitVisible(`#answers`))
			if has := evalJS[bool](t, expert, `!!document.querySelector('#answer-form')`); has {
				t.Error("a closed question still offers the expert the answer form")
			}
		})
	}
}
