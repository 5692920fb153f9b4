package console_test

// Issue 18's CoP home and the WA CoP's governance, driven through the pages: a working
// group of five votes a removal (acceptance scenario 5: three votes do not carry it, four
// do, because 75% of five members rounds up to four), and a coordinator and a member open
// the CoP home and their own page, each seeing their view.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
	"github.com/copnet/copnet/services/scheduling"
)

// waPurpose is the WA CoP's purpose, from its Statement of Aims.
const waPurpose = "To develop the practice of consumer, carer and community engagement in the WA health sector."

// waCoP is the WA Health Engagement Network CoP on a node, as the registry approved it
// with a charter, and the people of its roster.
type waCoP struct {
	n                *testkit.Node
	id               string
	group            []string // the working group, five
	subject, another string   // a member the group votes on; a member of another CoP
	otherCoP         string
	names            map[string]string
}

// startWA boots the console with the registry, membership and scheduling, and makes the
// WA CoP (and another CoP, for the forbidden cases) with its members.
func startWA(t *testing.T) *waCoP {
	t.Helper()
	n := startConsole(t, registry.Factory, membership.Factory, scheduling.Factory)
	nat := n.National(t)
	if st := n.JSON(t, "POST", "/v1/regions", nat, map[string]string{"id": "wa", "name": "Western Australia"}, nil); st != http.StatusCreated {
		t.Fatalf("create region wa: %d", st)
	}
	propose := func(name, purpose string) string {
		var c struct {
			ID string `json:"id"`
		}
		body := map[string]any{"name": name, "region": "wa", "scope": "regional", "purpose": purpose,
			"topics": []string{"consumer engagement"}, "host_organisations": []string{"Health Consumers' Council"},
			"meeting": map[string]any{"frequency": "quarterly", "duration_minutes": 90, "format": []string{"share", "discuss", "apply"}}}
		if st := n.JSON(t, "POST", "/v1/cops", nat, body, &c); st != http.StatusCreated {
			t.Fatalf("propose %s: %d", name, st)
		}
		if st := n.JSON(t, "POST", "/v1/cops/"+c.ID+"/decision", nat, map[string]string{"decision": "approve"}, nil); st != http.StatusOK {
			t.Fatalf("approve %s: %d", name, st)
		}
		charter := map[string]string{"aims": purpose, "terms_of_reference": "The working group self-manages the membership.",
			"code_of_practice": "Respect, confidentiality, individuals only."}
		if st := n.JSON(t, "PUT", "/v1/cops/"+c.ID+"/charter", nat, charter, nil); st >= 300 {
			t.Fatalf("publish the charter of %s: %d", name, st)
		}
		return c.ID
	}
	w := &waCoP{n: n, names: map[string]string{}}
	w.id = propose("Health Engagement Network", waPurpose)
	w.otherCoP = propose("Perth Carers", "Carers supporting carers.")
	testkit.Eventually(t, waitFor, func() error {
		var known int
		err := n.Pool("membership").QueryRow(context.Background(),
			`SELECT count(*) FROM cops WHERE id = ANY($1) AND status = 'approved' AND code_of_practice_version = 1`, []string{w.id, w.otherCoP}).Scan(&known)
		if err != nil || known != 2 {
			return fmt.Errorf("membership knows %d of the two CoPs (%v)", known, err)
		}
		return nil
	})
	register := func(name, cop string, group bool) string {
		var p struct {
			ID string `json:"id"`
		}
		email := strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.org"
		if st := n.JSON(t, "POST", "/v1/people", nat, map[string]string{"name": name, "email": email, "organisation": "WA Health"}, &p); st != http.StatusCreated {
			t.Fatalf("register %s: %d", name, st)
		}
		if st := n.JSON(t, "POST", "/v1/cops/"+cop+"/members", nat, map[string]any{"person_id": p.ID, "code_of_practice_version": 1}, nil); st != http.StatusCreated {
			t.Fatalf("%s joins %s: %d", name, cop, st)
		}
		if group {
			if st := n.JSON(t, "PUT", "/v1/cops/"+cop+"/members/"+p.ID+"/roles", nat, map[string]any{"roles": []string{"working_group"}}, nil); st != http.StatusOK {
				t.Fatalf("%s into the working group: %d", name, st)
			}
		}
		w.names[p.ID] = name
		return p.ID
	}
	for _, name := range []string{"Aroha Bennett", "Bill Chen", "Carla Dias", "Dev Eastman", "Erin Fox"} {
		w.group = append(w.group, register(name, w.id, true))
	}
	w.subject = register("Sam Troll", w.id, false)
	w.another = register("Olive Other", w.otherCoP, true)
	testkit.Eventually(t, waitFor, func() error {
		if _, err := w.copName(); err != nil {
			return err
		}
		return nil
	})
	return w
}

func (w *waCoP) copName() (string, error) {
	var name string
	err := w.n.Pool("console").QueryRow(context.Background(), `SELECT name FROM cops WHERE id = $1`, w.id).Scan(&name)
	return name, err
}

// token is person's access token with the grants membership gives them in cop.
func (w *waCoP) token(t *testing.T, person, cop string, group bool) string {
	g := []httpx.Grant{{Role: httpx.RoleMember, CoP: cop}}
	if group {
		g = append(g, httpx.Grant{Role: httpx.RoleWorkingGroup, CoP: cop})
	}
	return w.n.Token(t, httpx.Claims{Subject: person, Grants: g})
}

// navigate opens path and waits for sel.
func navigate(t *testing.T, ctx context.Context, url, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(sel)); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML("main"))
		t.Fatalf("open %s and wait for %s: %v\n%s", url, sel, err, html)
	}
}

// TestRemovalVoteJourneyInChromium is acceptance scenario 5: a WA working group of five
// votes a removal through the pages. 75% of the group's five members is 3.75, so four votes
// are needed: after three the vote is still open and Sam is still a member; the fourth
// carries it and ends Sam's membership. Sam sees the vote is about them and cannot vote;
// a working-group member of another CoP cannot see it or vote. At 390 px and desktop.
func TestRemovalVoteJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through a removal vote")
	}
	ensureChromium(t)
	axe := chromium.AxeSource(t)
	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			w := startWA(t)
			n := w.n
			proposer := w.group[0]
			ctx := browserAt(t, n, width, w.token(t, proposer, w.id, true))

			// Aroha opens the CoP home, sees the governance actions, and proposes.
			navigate(t, ctx, n.URL+"/cops/"+w.id, `#propose-removal`)
			if err := chromedp.Do(ctx, chromedp.Click(`#propose-removal`), chromedp.WaitVisible(`#removal-form`)); err != nil {
				t.Fatalf("open the removal form: %v", err)
			}
			look(t, ctx, axe, fmt.Sprintf("removal-new-%d", width))
			if err := chromedp.Do(ctx,
				chromedp.SetValue(`#person_id`, w.subject),
				chromedp.SendKeys(`#reason`, "Repeated personal attacks on members in sessions, a significant breach of the Code of Practice."),
				chromedp.Click(`#propose-removal-submit`),
				chromedp.WaitVisible(`#removal-notice`)); err != nil {
				t.Fatalf("propose the removal: %v", err)
			}
			where, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(where)
			removal := strings.TrimPrefix(u.Path, "/removals/")
			if removal == "" || strings.Contains(removal, "/") {
				t.Fatalf("after proposing the browser is at %s, want the removal's page", where)
			}
			figure := func(name string) string {
				return text(t, ctx, `#removal-figures [data-figure="`+name+`"]`)
			}
			if figure("needed") != "4" || figure("group") != "5" || figure("supporting") != "0" {
				t.Fatalf("a group of five: needed %s, group %s, supporting %s; want 4 of 5, none yet", figure("needed"), figure("group"), figure("supporting"))
			}

			vote := func(voter string) {
				t.Helper()
				setAccess(t, ctx, n, w.token(t, voter, w.id, true))
				navigate(t, ctx, n.URL+"/removals/"+removal, `#vote-form`)
				if err := chromedp.Do(ctx, chromedp.Click(`#vote-form input[value="remove"]`), chromedp.Click(`#vote-submit`),
					chromedp.WaitVisible(`#removal-notice`)); err != nil {
					t.Fatalf("%s votes: %v", w.names[voter], err)
				}
			}
			for _, voter := range w.group[:3] {
				vote(voter)
			}
			outcome := text(t, ctx, `#removal-outcome`)
			if !strings.HasPrefix(outcome, "Open: 3 of the 4 votes needed") || figure("supporting") != "3" {
				t.Fatalf("after three votes for: %q, supporting %s; want open, 3 of 4", outcome, figure("supporting"))
			}
			if voters := text(t, ctx, `#voters`); strings.Count(voters, "voted to remove") != 3 || !strings.Contains(voters, "Dev Eastman — has not voted") {
				t.Errorf("who has voted after three: %q", voters)
			}
			look(t, ctx, axe, fmt.Sprintf("removal-three-votes-%d", width))
			if !onRoster(t, n, w.id, w.subject) {
				t.Fatal("three votes of five removed Sam: the 75% rule counts the group's members, four are needed")
			}

			// Sam, a member outside the working group, is not shown the vote (membership
			// shows it to its electors and those who run the CoP).
			setAccess(t, ctx, n, w.token(t, w.subject, w.id, false))
			if st := visit(t, ctx, n.URL+"/removals/"+removal); st != http.StatusForbidden {
				t.Errorf("the member concerned opens the vote: %d, want 403", st)
			}
			// A working-group member of another CoP is refused the page and the vote.
			setAccess(t, ctx, n, w.token(t, w.another, w.otherCoP, true))
			if st := visit(t, ctx, n.URL+"/removals/"+removal); st != http.StatusForbidden {
				t.Errorf("another CoP's working group opens the removal: %d, want 403", st)
			}

			vote(w.group[3])
			outcome = text(t, ctx, `#removal-outcome`)
			if !strings.HasPrefix(outcome, "Carried: 4 of the 5 working-group members voted for removal") {
				t.Fatalf("after the fourth vote: %q, want carried", outcome)
			}
			if html, _ := chromedp.Run(ctx, chromedp.OuterHTML("main")); strings.Contains(html, `id="vote-form"`) {
				t.Error("a decided removal still offers a vote")
			}
			look(t, ctx, axe, fmt.Sprintf("removal-carried-%d", width))
			testkit.Eventually(t, waitFor, func() error {
				if onRoster(t, n, w.id, w.subject) {
					return fmt.Errorf("Sam is still on the roster")
				}
				return nil
			})
			// The CoP home lists the decided vote for the working group.
			navigate(t, ctx, n.URL+"/cops/"+w.id, `#removals`)
			if s := text(t, ctx, `#removals`); !strings.Contains(s, "Removal of Sam Troll · carried") {
				t.Errorf("the CoP home lists %q", s)
			}
		})
	}
}

// onRoster reports whether person is a current member of cop, as membership says.
func onRoster(t *testing.T, n *testkit.Node, cop, person string) bool {
	t.Helper()
	var roster struct {
		Members []struct {
			PersonID string `json:"person_id"`
		} `json:"members"`
	}
	if st := n.JSON(t, "GET", "/v1/cops/"+cop+"/members", n.National(t), nil, &roster); st != http.StatusOK {
		t.Fatalf("roster of %s: %d", cop, st)
	}
	for _, m := range roster.Members {
		if m.PersonID == person {
			return true
		}
	}
	return false
}

// planSessions plans the WA CoP's program in Perth's time zone, two sessions ahead.
func planSessions(t *testing.T, w *waCoP) {
	t.Helper()
	first := time.Now().In(perth(t)).AddDate(0, 0, 7)
	for first.Weekday() != time.Tuesday {
		first = first.AddDate(0, 0, 1)
	}
	body := map[string]any{"title": "2027 program", "sessions": 2, "timezone": "Australia/Perth",
		"first_session_at": first.Format("2006-01-02") + "T10:00", "cadence": "FREQ=WEEKLY;BYDAY=TU", "duration_minutes": 90,
		"format": []string{"Share", "Discuss", "Apply"}}
	if st, raw := w.n.Do(t, "POST", "/v1/cops/"+w.id+"/programs", w.n.Coordinator(t, w.id), body); st != http.StatusCreated {
		t.Fatalf("plan the program: %d %s", st, raw)
	}
}

func perth(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Australia/Perth")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestCoPHomeJourneyInChromium: the WA CoP's coordinator and one of its members open the
// CoP home and their own page. Both read the purpose, the charter's version and the next
// sessions in Perth time (AWST, not UTC) with links to each session; the coordinator sees
// the actions and exports, the member neither. At 390 px and desktop, axe-clean.
func TestCoPHomeJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: drives Chromium through the CoP home")
	}
	ensureChromium(t)
	axe := chromium.AxeSource(t)
	w := startWA(t)
	n := w.n
	planSessions(t, w)
	coordinator := n.Token(t, httpx.Claims{Subject: w.group[0], Grants: []httpx.Grant{
		{Role: httpx.RoleCoordinator, CoP: w.id}, {Role: httpx.RoleMember, CoP: w.id}, {Role: httpx.RoleWorkingGroup, CoP: w.id}}})
	member := w.token(t, w.subject, w.id, false)
	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			for _, who := range []struct {
				name, token string
				runs        bool
			}{{"coordinator", coordinator, true}, {"member", member, false}} {
				ctx := browserAt(t, n, width, who.token)
				navigate(t, ctx, n.URL+"/cops/"+w.id, `#next-sessions`)
				testkit.Eventually(t, waitFor, func() error {
					navigate(t, ctx, n.URL+"/cops/"+w.id, `#next-sessions`)
					if s := text(t, ctx, `#next-sessions`); !strings.Contains(s, "AWST") {
						return fmt.Errorf("next sessions read %q", s)
					}
					return nil
				})
				next := text(t, ctx, `#next-sessions`)
				if strings.Contains(next, "UTC") || !strings.Contains(next, "10:00–11:30 AWST") {
					t.Errorf("%s: next sessions %q, want Perth times", who.name, next)
				}
				if s := text(t, ctx, `#purpose`); s != waPurpose {
					t.Errorf("%s: purpose %q", who.name, s)
				}
				if s := text(t, ctx, `#about`); !strings.Contains(s, "Charter version 1") {
					t.Errorf("%s: about %q", who.name, s)
				}
				html, err := chromedp.Run(ctx, chromedp.OuterHTML("main"))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(html, `href="/sessions/`) {
					t.Errorf("%s: no link to a session page", who.name)
				}
				for _, action := range []string{`id="exports"`, `id="propose-coordinator"`, `id="roster-link"`, `id="program-link"`} {
					if strings.Contains(html, action) != who.runs {
						t.Errorf("%s: %s shown %v, want %v", who.name, action, !who.runs, who.runs)
					}
				}
				if strings.Contains(html, `id="member-view"`) == who.runs {
					t.Errorf("%s: the member-view line is wrong", who.name)
				}
				look(t, ctx, axe, fmt.Sprintf("cop-home-%s-%d", who.name, width))

				navigate(t, ctx, n.URL+"/me", `#my-cops`)
				if s := text(t, ctx, `#my-cops`); !strings.Contains(s, "Health Engagement Network") {
					t.Errorf("%s: my CoPs %q", who.name, s)
				}
				if s := text(t, ctx, `#my-sessions`); !strings.Contains(s, "AWST") {
					t.Errorf("%s: my next sessions %q", who.name, s)
				}
				look(t, ctx, axe, fmt.Sprintf("me-%s-%d", who.name, width))
			}
		})
	}
}
