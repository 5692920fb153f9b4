package tests

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
)

var invitationLink = regexp.MustCompile(`https?://\S+/auth/invitation\?t=\S+`)

// browserClient is a cookie-keeping client that follows redirects, as a browser does.
func browserClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// accessToken is the access token a browser holds for base.
func accessToken(t *testing.T, b *http.Client, base string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == httpx.AccessCookie {
			return c.Value
		}
	}
	t.Fatal("the browser holds no access token")
	return ""
}

// acceptInvitation follows the invitation mailed to addr in a fresh browser: the link signs
// the invitee in and shows the invitation; they accept it. It returns their browser.
func acceptInvitation(t *testing.T, mp *testkit.MailpitServer, addr string, secrets *[]string) *http.Client {
	t.Helper()
	m := mp.Message(t, mp.WaitFor(t, addr).ID)
	link := invitationLink.FindString(m.Text)
	if link == "" {
		t.Fatalf("no invitation link in the mail to %s:\n%s", addr, m.Text)
	}
	*secrets = append(*secrets, link[strings.Index(link, "t=")+2:])
	b := browserClient()
	resp, err := b.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.Path, "/invitations/") {
		t.Fatalf("the invitation link landed on %s: %d\n%s", resp.Request.URL, resp.StatusCode, page)
	}
	action := regexp.MustCompile(`action="(/auth/invitations/[^"]+/accept)"`).FindSubmatch(page)
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if action == nil || csrf == nil {
		t.Fatalf("the invitation page has no accept form:\n%s", page)
	}
	resp, err = b.PostForm(resp.Request.URL.Scheme+"://"+resp.Request.URL.Host+string(action[1]), url.Values{"csrf": {string(csrf[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("accepting the invitation: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return b
}

// TestNewNodeFirstAdministratorInvitesAHubOfficer is issue 16's acceptance, as new users
// would live it on the all-in-one with its defaults (and a real SMTP server, Mailpit): the
// first start prints `setup:`; the administrator opens it and invites a hub officer for vic
// by e-mail; the mail arrives; the officer signs in through its link, holds the vic hub grant
// and approves a vic CoP, which a wa hub officer may not. The whole output holds no token,
// link secret or password.
func TestNewNodeFirstAdministratorInvitesAHubOfficer(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: the copnet binary with its own PostgreSQL, and Mailpit")
	}
	mp := testkit.Mailpit(t)
	dir := allInOneDataDir(t)
	run := startAllInOne(t, dir, "COPNET_SMTP_URL="+mp.SMTPURL(), "COPNET_MAIL_FROM=copnet <no-reply@copnet.example>")
	setup := setupLines(run.out.String())
	if len(setup) != 1 {
		t.Fatalf("the first start printed %d setup: lines:\n%s", len(setup), run.out)
	}
	admin, ok := useSetupLink(t, strings.Fields(strings.TrimPrefix(setup[0], "setup: "))[0], "sam@secretariat.example")
	if !ok {
		t.Fatal("the setup link did not sign the administrator in")
	}
	// The node is reached at localhost (its public URL): the links point there.
	site := strings.Replace(run.base, "127.0.0.1", "localhost", 1)
	adminTok := accessToken(t, admin, site)
	var secrets []string

	for _, r := range [][2]string{{"vic", "Victoria"}, {"wa", "Western Australia"}} {
		if st, body := call(t, "POST", run.base+"/v1/regions", adminTok, map[string]string{"id": r[0], "name": r[1]}); st != http.StatusCreated {
			t.Fatalf("region %s: %d %v", r[0], st, body)
		}
	}
	propose := func(name string) string {
		st, body := call(t, "POST", run.base+"/v1/cops", adminTok, map[string]any{"name": name, "region": "vic", "scope": "regional",
			"purpose": "Practitioners sharing what works.", "topics": []string{"youth"}, "host_organisations": []string{"Health"},
			"meeting": map[string]any{"frequency": "monthly", "duration_minutes": 90, "format": []string{"share", "discuss", "apply"}}})
		if st != http.StatusCreated {
			t.Fatalf("propose %s: %d %v", name, st, body)
		}
		return body["id"].(string)
	}
	youth, elders := propose("Youth mental health"), propose("Elder care")

	for _, inv := range []struct{ email, region string }{{"officer@vic.example", "vic"}, {"officer@wa.example", "wa"}} {
		if st, body := call(t, "POST", run.base+"/v1/invitations", adminTok, map[string]any{"email": inv.email,
			"grant": map[string]string{"role": "hub", "region": inv.region}}); st != http.StatusCreated {
			t.Fatalf("invite %s: %d %v", inv.email, st, body)
		}
	}
	vic := acceptInvitation(t, mp, "officer@vic.example", &secrets)
	vicTok := accessToken(t, vic, site)
	st, me := call(t, "GET", run.base+"/v1/me", vicTok, nil)
	if st != http.StatusOK || !holds(me, map[string]any{"role": "hub", "region": "vic"}) {
		t.Fatalf("the vic officer's /v1/me: %d %v", st, me)
	}
	if st, body := call(t, "POST", run.base+"/v1/cops/"+youth+"/decision", vicTok, map[string]string{"decision": "approve"}); st != http.StatusOK {
		t.Fatalf("the vic officer approving a vic CoP: %d %v", st, body)
	}
	wa := acceptInvitation(t, mp, "officer@wa.example", &secrets)
	waTok := accessToken(t, wa, site)
	if st, body := call(t, "POST", run.base+"/v1/cops/"+elders+"/decision", waTok, map[string]string{"decision": "approve"}); st != http.StatusForbidden {
		t.Fatalf("the wa officer approving a vic CoP: %d %v, want 403", st, body)
	}

	// The administrator's, the officers' tokens and sessions, the invitation links and every
	// secret the node keeps in its data dir: none of it in the output of the whole run.
	run.stop(t, dir)
	out := run.out.String()
	u, _ := url.Parse(site)
	for _, b := range []*http.Client{admin, vic, wa} {
		for _, c := range b.Jar.Cookies(u) {
			if c.Name == httpx.SessionCookie || c.Name == httpx.AccessCookie {
				secrets = append(secrets, c.Value)
			}
		}
	}
	for _, f := range []string{"auth-secret", "nats-password"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
			secrets = append(secrets, strings.TrimSpace(string(b)))
		}
	}
	for _, s := range secrets {
		if len(s) >= 16 && strings.Contains(out, s) {
			t.Errorf("the output holds a secret (%.12s…)", s)
		}
	}
	assertNoCredential(t, "the run's output", strings.Replace(out, setup[0], "", 1))
	if len(secrets) < 8 {
		t.Errorf("only %d secrets were checked", len(secrets))
	}
}
