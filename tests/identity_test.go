package tests

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
	"github.com/copnet/copnet/services/scheduling"
)

// identityWait bounds each wait for the state an assertion needs.
const identityWait = 30 * time.Second

var mailedSigninLink = regexp.MustCompile(`https?://\S+/auth/link\?t=\S+`)

// person is someone signing in through the real flow: a mailed link, then the cookies.
type person struct {
	t              *testing.T
	n              *testkit.Node
	email          string
	session, token string
}

// signInByMail asks for a sign-in link, follows the mail that arrives in Mailpit, and keeps
// the cookies the link sets, as a browser would.
func signInByMail(t *testing.T, n *testkit.Node, mp *testkit.MailpitServer, email string) *person {
	t.Helper()
	before := len(mp.MessagesTo(t, email))
	st, body := call(t, "POST", n.URL+"/auth/email", "", map[string]string{"email": email})
	if st != http.StatusAccepted {
		t.Fatalf("POST /auth/email: %d %v", st, body)
	}
	var msgs []testkit.MailpitMessage
	testkit.EventuallyTrue(t, identityWait, func() bool {
		msgs = mp.MessagesTo(t, email)
		return len(msgs) > before
	}, "no sign-in mail to "+email)
	link := mailedSigninLink.FindString(mp.Message(t, msgs[0].ID).Text)
	resp := noFollow(t, http.MethodGet, link, nil)
	p := &person{t: t, n: n, email: email}
	for _, c := range resp.Cookies() {
		switch c.Name {
		case httpx.SessionCookie:
			p.session = c.Value
		case httpx.AccessCookie:
			p.token = c.Value
		}
	}
	if resp.StatusCode != http.StatusSeeOther || p.session == "" || p.token == "" {
		t.Fatalf("the sign-in link: %d → %s, cookies %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	return p
}

// refresh gets a fresh access token from the session, as the console does when one expires.
func (p *person) refresh() {
	p.t.Helper()
	resp := noFollow(p.t, http.MethodGet, p.n.URL+"/auth/refresh?next=%2F", []*http.Cookie{{Name: httpx.SessionCookie, Value: p.session}})
	for _, c := range resp.Cookies() {
		if c.Name == httpx.AccessCookie && c.Value != "" {
			p.token = c.Value
			return
		}
	}
	p.t.Fatalf("refresh: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
}

func noFollow(t *testing.T, method, u string, cookies []*http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck // draining
	resp.Body.Close()
	return resp
}

// TestCoordinatorPlansOnlyOnceTheAppointmentSettles: access comes from grants held as data,
// not from what a token was minted with. A member proposed as coordinator cannot plan a
// program during the consent window; once it settles their next token carries the
// coordinator grant and they can; when the term ends the tokens that carried it stop.
func TestCoordinatorPlansOnlyOnceTheAppointmentSettles(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: three services, Mailpit and sign-ins by mail")
	}
	mp := testkit.Mailpit(t)
	t.Setenv("COPNET_SMTP_URL", mp.SMTPURL())
	t.Setenv("COPNET_MAIL_FROM", "copnet <no-reply@copnet.example>")
	t.Setenv("COPNET_MEMBERSHIP_SWEEP_INTERVAL", "20ms")
	// The clock jumps days and a year; the session must outlive the jumps.
	t.Setenv("COPNET_MEMBERSHIP_SESSION_IDLE", "20000h")
	t.Setenv("COPNET_MEMBERSHIP_SESSION_MAX", "20000h")
	clock := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
	n := testkit.StartNode(t, testkit.NodeOptions{Now: clock.Now}, registry.Factory, membership.Factory, scheduling.Factory)
	nat := n.National(t)

	if st, body := call(t, "POST", n.URL+"/v1/regions", nat, map[string]string{"id": "vic", "name": "Victoria"}); st != http.StatusCreated {
		t.Fatalf("region: %d %v", st, body)
	}
	st, body := call(t, "POST", n.URL+"/v1/cops", nat, map[string]any{"name": "Nurses Vic", "region": "vic", "scope": "regional",
		"purpose": "Practitioners sharing what works.", "topics": []string{"triage"}, "host_organisations": []string{"Health"},
		"meeting": map[string]any{"frequency": "monthly", "duration_minutes": 90, "format": []string{"share", "discuss", "apply"}}})
	if st != http.StatusCreated {
		t.Fatalf("propose: %d %v", st, body)
	}
	cop := body["id"].(string)
	if st, body := call(t, "POST", n.URL+"/v1/cops/"+cop+"/decision", nat, map[string]string{"decision": "approve"}); st != http.StatusOK {
		t.Fatalf("approve: %d %v", st, body)
	}
	if st, body := call(t, "PUT", n.URL+"/v1/cops/"+cop+"/charter", nat, map[string]string{"aims": "Aims", "terms_of_reference": "We meet monthly.",
		"code_of_practice": "Be kind."}); st != http.StatusOK {
		t.Fatalf("charter: %d %v", st, body)
	}
	st, body = call(t, "POST", n.URL+"/v1/people", nat, map[string]string{"name": "Mere Coordinator", "email": "mere@health.example"})
	if st != http.StatusCreated {
		t.Fatalf("register: %d %v", st, body)
	}
	mere := body["id"].(string)
	testkit.Eventually(t, identityWait, func() error { // membership learns of the approval from the registry's event
		if st, body := call(t, "POST", n.URL+"/v1/cops/"+cop+"/members", nat, map[string]any{"person_id": mere, "code_of_practice_version": 1}); st != http.StatusCreated {
			return fmt.Errorf("join: %d %v", st, body)
		}
		return nil
	})
	if st, body := call(t, "POST", n.URL+"/v1/cops/"+cop+"/coordinator-appointments", nat, map[string]string{"person_id": mere}); st != http.StatusCreated {
		t.Fatalf("propose coordinator: %d %v", st, body)
	}

	p := signInByMail(t, n, mp, "mere@health.example")
	first := clock.Now().Add(30 * 24 * time.Hour)
	for first.Weekday() != time.Tuesday {
		first = first.Add(24 * time.Hour)
	}
	program := map[string]any{"title": "Share, Discuss, Apply", "sessions": 3, "first_session_at": first.Format("2006-01-02") + "T18:00",
		"timezone": "Australia/Melbourne", "cadence": "FREQ=WEEKLY;BYDAY=TU", "duration_minutes": 90,
		"format": []string{"share", "discuss", "apply"}, "checkins": []int{}}
	// During the consent window: a member, not a coordinator.
	testkit.Eventually(t, identityWait, func() error { // scheduling learns of the CoP from the registry's event
		if st, body := call(t, "POST", n.URL+"/v1/cops/"+cop+"/programs", p.token, program); st != http.StatusForbidden {
			return fmt.Errorf("plan during the consent window: %d %v, want 403", st, body)
		}
		return nil
	})

	// The window ends without objection: the sweep appoints, and the next token carries it.
	clock.Advance(8 * 24 * time.Hour)
	testkit.Eventually(t, identityWait, func() error {
		p.refresh()
		st, body := call(t, "GET", n.URL+"/v1/me", p.token, nil)
		if st != http.StatusOK {
			return fmt.Errorf("/v1/me: %d %v", st, body)
		}
		if !holds(body, map[string]any{"role": "coordinator", "cop": cop}) {
			return fmt.Errorf("grants after the window: %v", body["grants"])
		}
		return nil
	})
	if st, body := call(t, "POST", n.URL+"/v1/cops/"+cop+"/programs", p.token, program); st != http.StatusCreated {
		t.Fatalf("plan once appointed: %d %v", st, body)
	}

	// A year on the term ends: the grant is withdrawn, its tokens stop at every service.
	carried := p.token
	clock.Advance(366 * 24 * time.Hour)
	testkit.EventuallyTrue(t, identityWait, func() bool {
		st, _ := call(t, "GET", n.URL+"/v1/cops/"+cop+"/participation", carried, nil)
		return st == http.StatusUnauthorized
	}, "a token carrying the ended coordinator grant still works at scheduling")
	p.refresh()
	if st, body := call(t, "POST", n.URL+"/v1/cops/"+cop+"/programs", p.token, program); st != http.StatusForbidden {
		t.Errorf("plan after the term: %d %v, want 403", st, body)
	}
}

// holds says whether a /v1/me answer lists the grant want among the grants held now.
func holds(me map[string]any, want map[string]any) bool {
	gs, _ := me["grants"].([]any)
	for _, g := range gs {
		m, _ := g.(map[string]any)
		if fmt.Sprint(m) == fmt.Sprint(want) {
			return true
		}
	}
	return false
}
