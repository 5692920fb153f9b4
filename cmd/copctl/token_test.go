package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
)

// signInBySetup is the first national administrator signing in through the node's setup
// link, as a person does: it returns their access token.
func signInBySetup(t *testing.T, e *env) string {
	t.Helper()
	link, err := membership.SetupLink(e.n.Secret, e.n.URL, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The setup page sets the CSRF cookie its form carries.
	const csrf = "0123456789abcdef0123456789abcdef0123"
	jar.SetCookies(u, []*http.Cookie{{Name: httpx.CSRFCookie, Value: csrf, Path: "/"}})
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(e.n.URL+"/auth/setup", url.Values{"t": {u.Query().Get("t")}, "name": {"Sam Secretariat"},
		"email": {"sam@example.org"}, httpx.CSRFField: {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, ck := range jar.Cookies(u) {
		if ck.Name == httpx.AccessCookie {
			return ck.Value
		}
	}
	t.Fatalf("setup answered %d without signing in", res.StatusCode)
	return ""
}

// runEnv runs copctl as a person would from their shell: the token only in COPNET_TOKEN.
func runEnv(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestCopctlTakesItsTokenFromCOPNET_TOKEN: a national administrator makes a personal API
// token, exports it as COPNET_TOKEN, and copctl acts with it; once revoked, copctl says the
// node refused it. The token is never printed, not even by --help.
func TestCopctlTakesItsTokenFromCOPNET_TOKEN(t *testing.T) {
	e := start(t, registry.Factory, membership.Factory)
	session := signInBySetup(t, e)
	var pat struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	e.must(http.StatusCreated, &pat, "POST", "/v1/tokens", session,
		map[string]any{"name": "copctl", "grants": []map[string]string{{"role": "national"}}, "expires_in_days": 1})
	cop := e.approvedCoP("vic", "Youth mental health")
	roster := writeFile(t, "roster.csv", "name,email\nAna,ana@example.org\n")

	t.Setenv("COPNET_TOKEN", pat.Token)
	// The approval reaches membership as an event.
	testkit.Eventually(t, waitFor, func() error {
		code, stdout, stderr := runEnv("--url", e.n.URL, "import", "members", "--cop", cop, roster)
		if code != exitOK || !strings.Contains(stdout, "1 person(s) invited") {
			return fmt.Errorf("import with COPNET_TOKEN: exit %d\n%s%s", code, stdout, stderr)
		}
		return nil
	})
	if code, stdout, _ := runEnv("--help"); code != exitOK || strings.Contains(stdout, pat.Token) || !strings.Contains(stdout, "COPNET_TOKEN") {
		t.Errorf("--help (exit %d) prints the token or does not document COPNET_TOKEN:\n%s", code, stdout)
	}

	// Revoked: every service refuses it once the event reaches it, and copctl says so.
	e.must(http.StatusNoContent, nil, "DELETE", "/v1/tokens/"+pat.ID, session, nil)
	testkit.Eventually(t, waitFor, func() error {
		code, _, stderr := runEnv("--url", e.n.URL, "import", "members", "--cop", cop, roster)
		if code != exitFail || !strings.HasPrefix(stderr, "401 Unauthorized") || !strings.Contains(stderr, "COPNET_TOKEN (expired or revoked?)") {
			return fmt.Errorf("with the revoked token: exit %d, %q", code, stderr)
		}
		if strings.Contains(stderr, pat.Token) {
			t.Fatalf("copctl printed the token: %s", stderr)
		}
		return nil
	})

	t.Setenv("COPNET_TOKEN", "")
	if code, _, stderr := runEnv("--url", e.n.URL, "import", "members", "--cop", cop, roster); code != exitFail ||
		!strings.Contains(stderr, "no token: set COPNET_TOKEN") {
		t.Errorf("without a token: exit %d, %q", code, stderr)
	}
}
