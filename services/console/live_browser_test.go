package console_test

// Issue 17's acceptance, as the people in the room would do it: a coordinator builds a
// three-question deck in the deck builder and presents it; six phones (390 px) join by the
// code and answer; the presenter's results appear at the fifth answer and not before and
// update without a reload; the phones follow the presenter to the next question; the word
// cloud shows the words; closing shows the final tally; axe finds nothing serious on any
// page.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/feedback"
)

// journeyBudget bounds each person's browser in the journey, which outlasts the budget
// chromium.New gives one browser (a room of six answering three questions).
const journeyBudget = 8 * time.Minute

// tab opens a fresh browser context (its own cookies, so its own device token) in browser
// at width, with its own budget.
func tab(t *testing.T, browser context.Context, width int64) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(context.WithoutCancel(browser), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelBudget := context.WithTimeout(ctx, journeyBudget)
	t.Cleanup(cancelBudget)
	// As chromium.New does for its first tab: axe-core is injected through DevTools.
	if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 844)); err != nil {
		t.Fatalf("open a tab at %d px: %v", width, err)
	}
	return ctx
}

// phones opens n phones at 390 px in one Chromium, each its own browser context.
func phones(t *testing.T, n int) []context.Context {
	t.Helper()
	browser := chromium.New(t, chromium.PhoneWidth)
	out := make([]context.Context, n)
	for i := range out {
		out[i] = tab(t, browser, chromium.PhoneWidth)
	}
	return out
}

// must runs actions, failing the test with what was being done.
func must(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	// A step that fails leaves the browser's budget to read what the page said instead.
	step, cancel := context.WithTimeout(ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(step, actions...); err != nil {
		where, _ := chromedp.Run(ctx, chromedp.Location())
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText : ''`))
		t.Fatalf("%s: %v (page %s says %q)", what, err, where, text)
	}
}

// fits checks that the page does not scroll sideways and nothing sticks out of its column.
func fits(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowCheck))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", what, p)
	}
}

// look takes the screenshot to look at, checks the fit and runs axe.
func look(t *testing.T, ctx context.Context, axe, name string) {
	t.Helper()
	screenshot(t, ctx, name)
	fits(t, ctx, name)
	chromium.CheckAccessibility(t, ctx, axe, name)
}

// waitJS waits until a JavaScript expression is true on the page.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr)); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML("main"))
		t.Fatalf("%s: %v\n%s", what, err, html)
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func TestLiveSessionInTheRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through a live session")
	}
	began := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(began).Seconds(), what) }
	ensureChromium(t)
	axe := chromium.AxeSource(t)
	n := startConsole(t, feedback.Factory)
	const cop = "cop-live"
	n.Publish(t, events.CoPApproved{CoPID: cop, Region: "vic"})
	testkit.Eventually(t, waitFor, func() error {
		var known int
		if err := n.Pool("feedback").QueryRow(context.Background(), `SELECT count(*) FROM cops WHERE id = $1`, cop).Scan(&known); err != nil || known != 1 {
			return fmt.Errorf("feedback does not know %s yet (%v)", cop, err)
		}
		return nil
	})

	// The coordinator builds the deck: the builder offers four questions; the fourth is
	// left out.
	presenter := tab(t, chrome(t), chromium.DesktopWidth)
	if _, err := chromedp.Call(presenter, network.SetCookie, network.SetCookieParams{Name: httpx.AccessCookie, Value: n.Coordinator(t, cop), URL: n.URL}); err != nil {
		t.Fatalf("sign the coordinator in: %v", err)
	}
	// From the CoP's page, as the coordinator finds it.
	if st := visit(t, presenter, n.URL+"/cops/"+cop); st != http.StatusOK {
		t.Fatalf("CoP page: %d", st)
	}
	must(t, presenter, "open the deck builder from the CoP page",
		chromedp.Click(`#prepare-deck`), chromedp.WaitVisible(`#title`))
	look(t, presenter, axe, "deck-builder-1280")
	must(t, presenter, "build the deck",
		chromedp.SetValue(`#title`, "Triage co-design, session 1"),
		chromedp.SetValue(`#q0_prompt`, "How confident are you with triage?"),
		chromedp.SetValue(`#q3_kind`, ""),
		chromedp.Click(`#deck-submit`),
		chromedp.WaitVisible(`#room-code`))
	code := strings.TrimSpace(evalJS[string](t, presenter, `document.querySelector('#room-code').textContent`))
	where, _ := chromedp.Run(presenter, chromedp.Location())
	presentPath := where[len(n.URL):]
	if len(code) != 6 || !strings.HasPrefix(presentPath, "/present/") {
		t.Fatalf("presenter at %s shows code %q", where, code)
	}
	if got := evalJS[int](t, presenter, `document.querySelectorAll('svg.qr path').length`); got != 1 {
		t.Errorf("the presenter shows %d QR codes", got)
	}
	if link := evalJS[string](t, presenter, `document.querySelector('.join-link a').href`); link != n.URL+"/join/"+code {
		t.Errorf("join link %q", link)
	}
	waitJS(t, presenter, "the presenter shows the first question, withheld",
		`!!document.querySelector('#withheld-1') && document.querySelector('#current .prompt').textContent.includes('triage')`)
	look(t, presenter, axe, "presenter-empty-1280")
	// Marks this page: a reload would lose the mark.
	evalJS[bool](t, presenter, `window.__sameDocument = true`)

	step("presenter ready")
	// Six phones join by code; the first types it in the code box.
	ph := phones(t, 6)
	visit(t, ph[0], n.URL+"/join")
	look(t, ph[0], axe, "join-390")
	must(t, ph[0], "type the code", chromedp.SendKeys(`#code`, strings.ToLower(code)), chromedp.Click(`#join-submit`), chromedp.WaitVisible(`#answer-form`))
	look(t, ph[0], axe, "room-scale-390")
	for _, p := range ph[1:] {
		visit(t, p, n.URL+"/join/"+code)
	}

	step("phones joined")
	// Question 1 (confidence 1-5): results appear at the fifth answer and not before.
	scale := []int{4, 5, 3, 4, 2, 1}
	for i, p := range ph {
		must(t, p, fmt.Sprintf("phone %d answers the scale", i+1),
			chromedp.WaitVisible(`#answer-form`),
			chromedp.Click(fmt.Sprintf(`input[name=answer][value="%d"]`, scale[i])),
			chromedp.Click(`#answer-submit`),
			chromedp.WaitVisible(`#thanks`))
		if i == 0 {
			look(t, p, axe, "thanks-390")
		}
		answers := i + 1
		waitJS(t, presenter, fmt.Sprintf("the presenter counts %d answers", answers),
			fmt.Sprintf(`(document.querySelector('#current .answers') || {}).textContent === '%d'`, answers))
		shown := evalJS[bool](t, presenter, `!!document.querySelector('#results-1')`)
		if answers < 5 && (shown || !evalJS[bool](t, presenter, `!!document.querySelector('#withheld-1')`)) {
			t.Fatalf("results are shown at %d answers", answers)
		}
		if answers >= 5 {
			waitJS(t, presenter, "results at five", `!!document.querySelector('#results-1')`)
			// The sixth answer changes the count, not the results: they move in steps of 5.
			if got := evalJS[string](t, presenter, `document.querySelector('#results-1').dataset.responses`); got != "5" {
				t.Errorf("at %d answers the results count %s", answers, got)
			}
			if mean := evalJS[string](t, presenter, `document.querySelector('#results-1 .mean strong').textContent`); mean != "3.6" {
				t.Errorf("at %d answers the mean shows %s, want 3.6 (of the first five)", answers, mean)
			}
		}
	}
	if !evalJS[bool](t, presenter, `window.__sameDocument === true`) {
		t.Fatal("the presenter page reloaded: results must arrive without a reload")
	}
	look(t, presenter, axe, "presenter-scale-1280")
	// A phone answers once: the form again says it already did.
	visit(t, ph[0], n.URL+"/join/"+code)
	must(t, ph[0], "answer twice", chromedp.Click(`input[name=answer][value="1"]`), chromedp.Click(`#answer-submit`), chromedp.WaitVisible(`#thanks`))
	if txt := evalJS[string](t, ph[0], `document.querySelector('main').textContent`); !strings.Contains(txt, "already answered") {
		t.Errorf("a second answer from one phone says %q", txt)
	}

	step("question 1 done")
	// Question 2: the phones, waiting on "thanks", follow the presenter by themselves.
	must(t, presenter, "next question", chromedp.Click(`#next`), chromedp.WaitVisible(`#withheld-2`))
	for i, p := range ph {
		must(t, p, fmt.Sprintf("phone %d follows to the ranking", i+1), chromedp.WaitVisible(`.rank-list`))
		step(fmt.Sprintf("phone %d followed", i+1))
		if i == 0 {
			look(t, p, axe, "room-ranking-390")
			// Tap to order: the last option moves to the top.
			must(t, p, "move up", chromedp.Click(`.rank-item:nth-child(3) .rank-move`), chromedp.Click(`.rank-item:nth-child(2) .rank-move`))
			if first := evalJS[string](t, p, `document.querySelector('.rank-item:first-child .rank-option').textContent`); first != "Consent and privacy" {
				t.Errorf("after two taps the first option is %q", first)
			}
		}
		must(t, p, fmt.Sprintf("phone %d ranks", i+1), chromedp.Click(`#answer-submit`), chromedp.WaitVisible(`#thanks`))
	}
	evalJS[bool](t, presenter, `window.__sameDocument = true`)
	waitJS(t, presenter, "the ranking appears", `!!document.querySelector('#results-2 ol.ranking')`)
	if top := evalJS[string](t, presenter, `document.querySelector('#results-2 ol.ranking li .opt').textContent`); top != "Funding applications" {
		t.Errorf("the ranking's top is %q", top)
	}
	look(t, presenter, axe, "presenter-ranking-1280")

	step("question 2 done")
	// Question 3: the word cloud shows the words.
	must(t, presenter, "next question", chromedp.Click(`#next`), chromedp.WaitVisible(`#withheld-3`))
	evalJS[bool](t, presenter, `window.__sameDocument = true`)
	words := []string{"Hopeful", "tired", "hopeful!", "curious", "HOPEFUL", "ready"}
	for i, p := range ph {
		must(t, p, fmt.Sprintf("phone %d writes a word", i+1), chromedp.WaitVisible(`#word1`))
		if i == 0 {
			look(t, p, axe, "room-words-390")
		}
		must(t, p, fmt.Sprintf("phone %d sends its word", i+1), chromedp.SendKeys(`#word1`, words[i]), chromedp.Click(`#answer-submit`), chromedp.WaitVisible(`#thanks`))
	}
	waitJS(t, presenter, "the word cloud", `!!document.querySelector('#cloud-3')`)
	cloud := evalJS[string](t, presenter, `document.querySelector('#cloud-3').textContent`)
	for _, w := range []string{"hopeful", "tired", "curious"} {
		if !strings.Contains(cloud, w) {
			t.Errorf("the word cloud %q lacks %q", cloud, w)
		}
	}
	if big := evalJS[string](t, presenter, `document.querySelector('#cloud-3 .w5').firstChild.textContent`); big != "hopeful" {
		t.Errorf("the biggest word is %q", big)
	}
	if !evalJS[bool](t, presenter, `window.__sameDocument === true`) {
		t.Fatal("the presenter page reloaded during the word cloud")
	}
	look(t, presenter, axe, "presenter-words-1280")

	step("question 3 done")
	// Closing shows the final tally, every answer counted; the phones are told it is over.
	must(t, presenter, "close", chromedp.Click(`#close`), chromedp.WaitVisible(`#final`))
	for q, want := range map[int]string{1: "6", 2: "6", 3: "6"} {
		if got := evalJS[string](t, presenter, fmt.Sprintf(`(document.querySelector('#results-%d') || {dataset: {}}).dataset.responses`, q)); got != want {
			t.Errorf("final tally of question %d counts %q answers, want %s", q, got, want)
		}
	}
	if mean := evalJS[string](t, presenter, `document.querySelector('#results-1 .mean strong').textContent`); mean != "3.2" {
		t.Errorf("the final mean is %s, want 3.2 (all six)", mean)
	}
	look(t, presenter, axe, "presenter-final-1280")
	must(t, ph[1], "a phone learns the session is over", chromedp.WaitVisible(`#room-closed`))
	look(t, ph[1], axe, "room-closed-390")

	step("closed")
	// The other widths: the presenter and builder on a phone, the join page on a desktop.
	must(t, presenter, "phone width", chromedp.EmulateViewport(chromium.PhoneWidth, 900))
	visit(t, presenter, n.URL+presentPath)
	look(t, presenter, axe, "presenter-final-390")
	visit(t, presenter, n.URL+"/cops/"+cop+"/decks/new")
	look(t, presenter, axe, "deck-builder-390")
	desk := chrome(t)
	visit(t, desk, n.URL+"/join")
	look(t, desk, axe, "join-1280")
	visit(t, desk, n.URL+"/join/"+code)
	look(t, desk, axe, "room-closed-1280")
}
