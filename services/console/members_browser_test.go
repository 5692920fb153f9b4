package console_test

// Issue 17's members' journeys, in Chromium at a phone's width and a desktop's, with the
// feedback service beside the console on one node: a signed-in member answers a session
// evaluation from their page and the CoP page's confidence trend moves; someone with no
// account takes the stage quiz and sees a stage and advice, and a coordinator saves one,
// which the CoP page lists; the CoP page shows closed results, says which are withheld,
// and exports them as CSV.

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/feedback"
)

// membersNode is a node running the console and the feedback service, with one approved
// CoP ("cop-m", region north) the console and feedback both know, its members, and two
// sessions held. It returns the node and the two sessions' evaluation poll ids.
func membersNode(t *testing.T, members []string) (*testkit.Node, [2]string) {
	t.Helper()
	n := startConsole(t, feedback.Factory)
	now := time.Now()
	evs := []events.Event{
		events.RegionCreated{RegionID: "north", Name: "Northland"},
		events.CoPProposed{CoPID: "cop-m", Region: "north", Name: "Nurses North", Scope: "regional", Topics: []string{"triage"},
			HostOrganisations: []string{"Health North"}, Stage: "potential"},
		events.CoPApproved{CoPID: "cop-m", Region: "north"},
	}
	for _, m := range members {
		evs = append(evs, events.MemberJoined{CoPID: "cop-m", Region: "north", PersonID: m, CodeOfPracticeVersion: 1})
	}
	for i, s := range []string{"sess-1", "sess-2"} {
		at := now.Add(time.Duration(i-2) * 7 * 24 * time.Hour)
		evs = append(evs,
			events.SessionScheduled{SessionID: s, ProgramID: "pg", CoPID: "cop-m", Number: i + 1, StartsAt: at, EndsAt: at.Add(time.Hour),
				Timezone: "Pacific/Auckland", Topic: []string{"Triage basics", "Triage in practice"}[i]},
			events.SessionHeld{SessionID: s, CoPID: "cop-m", ProgramID: "pg", Number: i + 1, HeldAt: at, Topics: []string{"triage"}})
	}
	n.Publish(t, evs...)
	var evals [2]string
	testkit.Eventually(t, waitFor, func() error {
		for i, s := range []string{"sess-1", "sess-2"} {
			var ev struct {
				Poll struct {
					ID string `json:"id"`
				} `json:"poll"`
			}
			if st := n.JSON(t, "GET", "/v1/sessions/"+s+"/evaluation", n.National(t), nil, &ev); st != http.StatusOK {
				return fmt.Errorf("no evaluation of %s yet (%d)", s, st)
			}
			evals[i] = ev.Poll.ID
		}
		var mine struct {
			Polls []any `json:"polls"`
		}
		if st := n.JSON(t, "GET", "/v1/me/polls", n.Member(t, members[len(members)-1]), nil, &mine); st != http.StatusOK || len(mine.Polls) != 2 {
			return fmt.Errorf("%s awaits %d polls, want the two evaluations", members[len(members)-1], len(mine.Polls))
		}
		if _, err := nodeCoPName(n); err != nil {
			return err
		}
		return nil
	})
	drained(t, n)
	return n, evals
}

func nodeCoPName(n *testkit.Node) (string, error) {
	var name string
	err := n.Pool("console").QueryRow(context.Background(), `SELECT name FROM cops WHERE id = 'cop-m'`).Scan(&name)
	return name, err
}

// evaluate takes person's ballot for the poll and answers with it, by the API.
func evaluate(t *testing.T, n *testkit.Node, poll, person string, confidence int) {
	t.Helper()
	var b struct {
		Ballot string `json:"ballot"`
	}
	if st := n.JSON(t, "POST", "/v1/polls/"+poll+"/ballots", n.Member(t, person), nil, &b); st != http.StatusCreated {
		t.Fatalf("ballot of %s: %d", person, st)
	}
	answer := map[string]any{"confidence": confidence, "usefulness": 4, "takeaway": []string{"rotation"}}
	if st := n.JSON(t, "POST", "/v1/polls/"+poll+"/responses", "", map[string]any{"ballot": b.Ballot, "answer": answer}, nil); st != http.StatusCreated {
		t.Fatalf("answer of %s: %d", person, st)
	}
}

func browserAt(t *testing.T, n *testkit.Node, width int, token string) context.Context {
	t.Helper()
	ctx := chromium.New(t, width)
	if token != "" {
		setAccess(t, ctx, n, token)
	}
	return ctx
}

// confidenceLabel is the accessible name of the CoP page's confidence chart.
const confidenceLabel = `(document.querySelector('#confidence-trend svg') || {getAttribute: () => ""}).getAttribute('aria-label') || ""`

// TestMemberAnswersAnEvaluation: session 1's evaluation closed with five answers; session
// 2's has four. A member signed in opens their page, sees "Evaluate session 2" (not the closed 1),
// answers it without JavaScript-only controls, is thanked, and it leaves their list; once
// the coordinator closes it, the CoP page's confidence trend has a second point, which the
// fifth answer made possible. At 390 and 1280 px, each page axe-clean.
func TestMemberAnswersAnEvaluation(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium")
	}
	axe := chromium.AxeSource(t)
	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			others := []string{"m-1", "m-2", "m-3", "m-4", "m-5"}
			n, evals := membersNode(t, append(slices.Clone(others), "m-me"))
			coord := n.Coordinator(t, "cop-m")
			for _, m := range others {
				evaluate(t, n, evals[0], m, 3)
			}
			if st := n.JSON(t, "POST", "/v1/polls/"+evals[0]+"/close", coord, nil, nil); st != http.StatusOK {
				t.Fatalf("close session 1's evaluation: %d", st)
			}
			for _, m := range others[:4] {
				evaluate(t, n, evals[1], m, 5)
			}

			coordCtx := browserAt(t, n, width, coord)
			visit(t, coordCtx, n.URL+"/cops/cop-m")
			before := evalJS[string](t, coordCtx, confidenceLabel)
			if want := "Mean confidence (1–5) per session of Nurses North, oldest to latest: 3.0"; before != want {
				t.Fatalf("confidence chart before: %q, want %q", before, want)
			}

			me := browserAt(t, n, width, memberToken(t, n, "m-me"))
			visit(t, me, n.URL+"/")
			if err := chromedp.Do(me, chromedp.WaitVisible(`#awaiting`)); err != nil {
				t.Fatalf("a member opening the console does not land on their page: %v", err)
			}
			titles := evalJS[string](t, me, `[...document.querySelectorAll('#awaiting .task-title')].map(e => e.textContent).join("|")`)
			if titles != "Evaluate session 2" {
				t.Fatalf("waiting for the member: %q", titles)
			}
			look(t, me, axe, fmt.Sprintf("me-%d", width))
			if err := chromedp.Do(me, chromedp.Click(`#awaiting li[data-poll="`+evals[1]+`"] a`), chromedp.WaitVisible(`#answer-form`)); err != nil {
				t.Fatal(err)
			}
			if h := evalJS[string](t, me, `document.querySelector('h1').textContent`); h != "Evaluate session 2" {
				t.Errorf("answer page heading %q", h)
			}
			// Sending it half-filled is refused, naming the questions, and keeps what was given.
			// The browser's own check of required answers is taken away, as an old browser
			// would not have it: the console's check is what is tested.
			if _, err := chromedp.Run(me, chromedp.Evaluate[bool](`document.querySelectorAll('[required]').forEach(e => e.removeAttribute('required')); true`)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(me, chromedp.Click(`#q-confidence label.point:nth-child(5)`),
				chromedp.Click(`#answer-submit`), chromedp.WaitVisible(`#answer-error`)); err != nil {
				t.Fatal(err)
			}
			if marked := evalJS[string](t, me, `[...document.querySelectorAll('fieldset.invalid')].map(e => e.id).join(",")`); marked != "q-usefulness,q-takeaway" {
				t.Errorf("refused answer marks %q", marked)
			}
			if kept := evalJS[string](t, me, `document.querySelector('input[name=confidence]:checked').value`); kept != "5" {
				t.Errorf("the refused form kept confidence %q", kept)
			}
			look(t, me, axe, fmt.Sprintf("answer-refused-%d", width))
			if err := chromedp.Do(me, chromedp.Click(`#q-usefulness label.point:nth-child(4)`),
				chromedp.SendKeys(`#w-takeaway-1`, "Rotation"), chromedp.SendKeys(`#w-takeaway-2`, "handover"),
				chromedp.Click(`#answer-submit`), chromedp.WaitVisible(`p.notice`)); err != nil {
				t.Fatalf("answer the evaluation: %v", err)
			}
			if err := chromedp.Do(me, chromedp.WaitVisible(`#nothing-waiting`)); err != nil {
				t.Errorf("after answering, the evaluation is still waiting: %v", err)
			}
			look(t, me, axe, fmt.Sprintf("me-recorded-%d", width))
			// The answer page again says it is done, with no form.
			visit(t, me, n.URL+"/me/polls/"+evals[1])
			if err := chromedp.Do(me, chromedp.WaitVisible(`#answer-done`)); err != nil {
				t.Errorf("answering twice: %v", err)
			}

			if st := n.JSON(t, "POST", "/v1/polls/"+evals[1]+"/close", coord, nil, nil); st != http.StatusOK {
				t.Fatalf("close session 2's evaluation: %d", st)
			}
			visit(t, coordCtx, n.URL+"/cops/cop-m")
			after := evalJS[string](t, coordCtx, confidenceLabel)
			if want := "Mean confidence (1–5) per session of Nurses North, oldest to latest: 3.0, 5.0"; after != want {
				t.Errorf("confidence chart after: %q, want %q", after, want)
			}
			words := evalJS[string](t, coordCtx, `document.querySelector('article[data-poll="`+evals[1]+`"]').textContent`)
			if !strings.Contains(words, "rotation") || !strings.Contains(words, "handover") {
				t.Errorf("session 2's results do not show the member's words: %q", words)
			}
			look(t, coordCtx, axe, fmt.Sprintf("cop-results-%d", width))
		})
	}
}

// TestResultsWithheldAndCSV: a closed poll with too few answers says it is withheld, a
// closed one with enough shows its tally (a ranking by Borda points), an open one is only
// counted; the CSV holds the same.
func TestResultsWithheldAndCSV(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium")
	}
	axe := chromium.AxeSource(t)
	members := []string{"r-1", "r-2", "r-3", "r-4", "r-5"}
	n, evals := membersNode(t, members)
	coord := n.Coordinator(t, "cop-m")
	for _, m := range members[:2] {
		evaluate(t, n, evals[0], m, 4)
	}
	n.JSON(t, "POST", "/v1/polls/"+evals[0]+"/close", coord, nil, nil)
	var rank struct {
		ID string `json:"id"`
	}
	if st := n.JSON(t, "POST", "/v1/polls", coord, map[string]any{"cop_id": "cop-m", "kind": "ranking", "question": "What should we learn first?",
		"options": []string{"triage", "handover", "ethics"}, "min_responses": 3}, &rank); st != http.StatusCreated {
		t.Fatalf("ranking poll: %d", st)
	}
	// Three members rank in the browser-free way; one more in the browser, by the places.
	for _, m := range members[:2] {
		var b struct {
			Ballot string `json:"ballot"`
		}
		n.JSON(t, "POST", "/v1/polls/"+rank.ID+"/ballots", n.Member(t, m), nil, &b)
		n.JSON(t, "POST", "/v1/polls/"+rank.ID+"/responses", "", map[string]any{"ballot": b.Ballot, "answer": []string{"handover", "triage", "ethics"}}, nil)
	}
	me := browserAt(t, n, chromium.PhoneWidth, memberToken(t, n, "r-5"))
	visit(t, me, n.URL+"/me/polls/"+rank.ID)
	if err := chromedp.Do(me, chromedp.WaitVisible(`#answer-form`),
		chromedp.SetValue(`select[name="answer.rank.0"]`, "2"), chromedp.SetValue(`select[name="answer.rank.1"]`, "1"),
		chromedp.SetValue(`select[name="answer.rank.2"]`, "3")); err != nil {
		t.Fatal(err)
	}
	look(t, me, axe, "answer-ranking-390")
	if err := chromedp.Do(me, chromedp.Click(`#answer-submit`), chromedp.WaitVisible(`p.notice`)); err != nil {
		t.Fatalf("answer the ranking: %v", err)
	}
	n.JSON(t, "POST", "/v1/polls/"+rank.ID+"/close", coord, nil, nil)

	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		ctx := browserAt(t, n, width, coord)
		visit(t, ctx, n.URL+"/cops/cop-m")
		withheld := evalJS[string](t, ctx, `document.querySelector('article[data-poll="`+evals[0]+`"] .withheld').textContent`)
		if !strings.HasPrefix(withheld, "Withheld: fewer responses than the minimum") {
			t.Errorf("the withheld evaluation says %q", withheld)
		}
		order := evalJS[string](t, ctx, `[...document.querySelectorAll('article[data-poll="`+rank.ID+`"] tbody th')].map(e => e.textContent).join("|")`)
		if order != "1. handover|2. triage|3. ethics" {
			t.Errorf("ranking shown %q", order)
		}
		if open := evalJS[string](t, ctx, `document.querySelector('#results-h').parentElement.textContent`); !strings.Contains(open, "1 still open") {
			t.Errorf("the open evaluation of session 2 is not counted: %q", open)
		}
		look(t, ctx, axe, fmt.Sprintf("cop-withheld-%d", width))
	}

	status, raw := n.Do(t, "GET", "/cops/cop-m/results.csv", coord, nil)
	if status != http.StatusOK {
		t.Fatalf("results.csv: %d %s", status, raw)
	}
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || !slices.Equal(rows[0][:3], []string{"poll_id", "poll", "purpose"}) {
		t.Fatalf("CSV rows %q", rows)
	}
	if rows[1][0] != evals[0] || rows[1][5] != "true" || rows[1][6] != "" {
		t.Errorf("withheld row %q", rows[1])
	}
	got := [][]string{}
	for _, r := range rows[2:] {
		got = append(got, []string{r[0], r[6], r[9], r[10], r[11]})
	}
	want := [][]string{{rank.ID, "3", "1. handover", "6", "Borda points"}, {rank.ID, "3", "2. triage", "3", "Borda points"}, {rank.ID, "3", "3. ethics", "0", "Borda points"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CSV results %q, want %q", got, want)
	}
	if st, _ := n.Do(t, "GET", "/cops/cop-m/results.csv", n.Coordinator(t, "cop-other"), nil); st != http.StatusForbidden {
		t.Errorf("another CoP's coordinator gets %d for the CSV, want 403", st)
	}
}

// TestStageQuiz: someone with no account takes the quiz, is told which answers are
// missing, then sees a stage and what to focus on; a coordinator saves a result as their
// CoP's assessment and the CoP page lists it.
func TestStageQuiz(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium")
	}
	axe := chromium.AxeSource(t)
	n, _ := membersNode(t, []string{"q-1"})
	answer := func(ctx context.Context, option string, skip ...string) {
		t.Helper()
		var acts []chromedp.Action[chromedp.Void]
		for i := 1; i <= 10; i++ {
			q := fmt.Sprintf("q%d", i)
			if !slices.Contains(skip, q) {
				acts = append(acts, chromedp.Click(fmt.Sprintf(`input[name=%s][value=%s]`, q, option)))
			}
		}
		if err := chromedp.Do(ctx, acts...); err != nil {
			t.Fatal(err)
		}
	}
	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		ctx := browserAt(t, n, width, "")
		visit(t, ctx, n.URL+"/quiz")
		if c := evalJS[string](t, ctx, `String(document.querySelectorAll('#quiz-form fieldset').length)`); c != "10" {
			t.Fatalf("the quiz shows %s questions", c)
		}
		look(t, ctx, axe, fmt.Sprintf("quiz-%d", width))
		answer(ctx, "b", "q4")
		if err := chromedp.Do(ctx, chromedp.Click(`#quiz-submit`), chromedp.WaitVisible(`#quiz-error`)); err != nil {
			t.Fatal(err)
		}
		if marked := evalJS[string](t, ctx, `[...document.querySelectorAll('fieldset.invalid')].map(e => e.id).join(",")`); marked != "q-q4" {
			t.Errorf("missing answers marked %q", marked)
		}
		look(t, ctx, axe, fmt.Sprintf("quiz-missing-%d", width))
		if err := chromedp.Do(ctx, chromedp.Click(`input[name=q4][value=c]`), chromedp.Click(`#quiz-submit`), chromedp.WaitVisible(`#quiz-result`)); err != nil {
			t.Fatal(err)
		}
		if stage := evalJS[string](t, ctx, `document.querySelector('#stage').textContent`); stage != "Coalescing" {
			t.Errorf("stage %q, want Coalescing", stage)
		}
		if focus := evalJS[string](t, ctx, `document.querySelector('#focus').textContent`); !strings.Contains(focus, "Build trust and agree the purpose") {
			t.Errorf("focus %q", focus)
		}
		if saving := evalJS[string](t, ctx, `String(!!document.querySelector('#save-form'))`); saving != "false" {
			t.Errorf("someone with no account is offered to save the result")
		}
		look(t, ctx, axe, fmt.Sprintf("quiz-result-%d", width))
		// Printed, the result stands alone: no navigation, no buttons, the stage and focus kept.
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
			t.Fatal(err)
		}
		printed := evalJS[string](t, ctx, `["header.top", "#print", "footer", "#stage", "#focus"].map(s => document.querySelector(s).getClientRects().length > 0).join(",")`)
		if printed != "false,false,false,true,true" {
			t.Errorf("printed, are header, print button, footer, stage, focus shown: %s", printed)
		}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""}); err != nil {
			t.Fatal(err)
		}
	}

	ctx := browserAt(t, n, chromium.PhoneWidth, n.Coordinator(t, "cop-m"))
	visit(t, ctx, n.URL+"/quiz")
	answer(ctx, "c")
	if err := chromedp.Do(ctx, chromedp.Click(`#quiz-submit`), chromedp.WaitVisible(`#save-form`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`#save`), chromedp.WaitVisible(`#assessments`)); err != nil {
		t.Fatalf("save the assessment: %v", err)
	}
	if where, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(where, "/cops/cop-m") {
		t.Errorf("after saving the browser is at %s", where)
	}
	if got := evalJS[string](t, ctx, `document.querySelector('#assessments li strong').textContent`); got != "Maturing" {
		t.Errorf("the CoP page lists %q", got)
	}
	look(t, ctx, axe, "cop-assessed-390")
}

// setAccess puts token in the browser's access cookie, as after a sign-in.
func setAccess(t *testing.T, ctx context.Context, n *testkit.Node, token string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: httpx.AccessCookie, Value: token, URL: n.URL}); err != nil {
		t.Fatalf("set the access cookie: %v", err)
	}
}
