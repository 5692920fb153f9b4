package membership_test

// Invitations as people live them: mail sent through a real SMTP server (Mailpit) and read
// back, links followed by a browser's cookie jar, grants checked through /v1/me.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/testkit"
)

// startWithMail starts a node whose mail goes to a real Mailpit.
func startWithMail(t *testing.T, others ...node.Factory) (*env, *testkit.MailpitServer) {
	t.Helper()
	mp := testkit.Mailpit(t)
	t.Setenv("COPNET_SMTP_URL", mp.SMTPURL())
	t.Setenv("COPNET_MAIL_FROM", "copnet <noreply@copnet.example>")
	e := start(t, others...)
	// Cookies expire by the browser's clock, the real one: sessions start from it here.
	e.clock.Set(time.Now().UTC().Truncate(time.Second))
	return e, mp
}

var invitationLink = regexp.MustCompile(`http://\S+/auth/invitation\?t=\S+`)

// linkIn returns the invitation link of a mail.
func linkIn(t *testing.T, m testkit.MailpitMessage) string {
	t.Helper()
	link := invitationLink.FindString(m.Text)
	if link == "" {
		t.Fatalf("no invitation link in the mail %q:\n%s", m.Subject, m.Text)
	}
	return link
}

// formBrowser is one person's browser without JavaScript: it keeps cookies, and does not follow
// redirects, so that each step's answer is seen.
type formBrowser struct {
	t   *testing.T
	e   *env
	jar *cookiejar.Jar
	c   *http.Client
}

func newBrowser(t *testing.T, e *env) *formBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The console page that shows a form sets the CSRF cookie; these tests post the forms
	// without drawing the page, so the browser holds one as if it had.
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	u, _ := url.Parse(e.n.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: httpx.CSRFCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/"}})
	return &formBrowser{t: t, e: e, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *formBrowser) cookie(name string) string {
	u, _ := url.Parse(b.e.n.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// token is the access token the browser holds.
func (b *formBrowser) token() string { return b.cookie(httpx.AccessCookie) }

// get opens a link (a full URL or a path) and returns where it redirects.
func (b *formBrowser) get(link string) (int, string) {
	b.t.Helper()
	if strings.HasPrefix(link, "/") {
		link = b.e.n.URL + link
	}
	res, err := b.c.Get(link)
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

// post submits a form, with the CSRF token, and returns where it redirects.
func (b *formBrowser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(httpx.CSRFField, b.cookie(httpx.CSRFCookie))
	res, err := b.c.PostForm(b.e.n.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

// follow opens an invitation link and checks that it signed the browser in and leads to the
// invitation's page.
func (b *formBrowser) follow(link, invitation string) {
	b.t.Helper()
	status, loc := b.get(link)
	if status != http.StatusSeeOther || loc != "/invitations/"+invitation {
		b.t.Fatalf("following the invitation link: %d to %q, want 303 to /invitations/%s", status, loc, invitation)
	}
	if b.cookie(httpx.SessionCookie) == "" || b.token() == "" {
		b.t.Fatal("following the invitation link did not sign the browser in")
	}
}

// invitationJSON is an invitation as the API shows it.
type invitationJSON struct {
	ID                    string      `json:"id"`
	Email                 string      `json:"email"`
	Grant                 httpx.Grant `json:"grant"`
	Status                string      `json:"status"`
	InvitedBy             string      `json:"invited_by"`
	InvitedByName         string      `json:"invited_by_name"`
	ExpiresAt             time.Time   `json:"expires_at"`
	CodeOfPracticeVersion int         `json:"code_of_practice_version"`
}

// meJSON is GET /v1/me.
type meJSON struct {
	Person *struct {
		ID, Name, Email string
	} `json:"person"`
	Grants []httpx.Grant `json:"grants"`
}

func (e *env) me(tok string) meJSON {
	e.t.Helper()
	var me meJSON
	e.must(http.StatusOK, &me, tok, "GET", "/v1/me", "")
	if me.Person == nil {
		e.t.Fatalf("/v1/me names no person")
	}
	return me
}

// invite sends an invitation as tok and returns it.
func (e *env) invite(tok, body string) invitationJSON {
	e.t.Helper()
	var inv invitationJSON
	e.must(http.StatusCreated, &inv, tok, "POST", "/v1/invitations", body)
	return inv
}

// TestInvitationsDelegateGrantsByConsent walks the chain issue 16 describes: national
// invites a hub officer for vic; the mail arrives; following its link signs the officer in;
// accepting gives the grant, which /v1/me shows. A hub of wa cannot invite coordinators for
// vic's CoPs. The officer invites a coordinator, who invites a member, who must accept the
// Code of Practice to join.
func TestInvitationsDelegateGrantsByConsent(t *testing.T) {
	e, mp := startWithMail(t)
	e.approve("vic", "cop-v")
	e.approve("wa", "cop-w")
	started := e.clock.Now()

	// National invites a hub officer for vic. The answer holds no secret.
	r := e.do(e.national(), "POST", "/v1/invitations", `{"email":"Olive.Officer@example.org","grant":{"role":"hub","region":"vic"},"name":"Olive Officer"}`)
	var hubInv invitationJSON
	decode(t, r, &hubInv)
	if r.status != http.StatusCreated || hubInv.ID == "" || hubInv.Email != "olive.officer@example.org" ||
		hubInv.Grant != (httpx.Grant{Role: httpx.RoleHub, Region: "vic"}) || hubInv.Status != "open" ||
		!hubInv.ExpiresAt.Equal(started.Add(14*24*time.Hour)) {
		t.Fatalf("%s: want 201 with the invitation, open for 14 days", r)
	}
	var fields map[string]any
	decode(t, r, &fields)
	for k := range fields {
		if strings.Contains(k, "token") || strings.Contains(k, "secret") || strings.Contains(k, "link") {
			t.Errorf("the answer holds %q", k)
		}
	}
	msg := mp.WaitFor(t, "olive.officer@example.org")
	link := linkIn(t, msg)
	if !strings.HasPrefix(link, e.n.URL+"/auth/invitation?t=") || !strings.Contains(msg.Text, "hub officer of region vic") ||
		!strings.Contains(msg.Subject, "hub officer of region vic") || !strings.HasPrefix(msg.Text, "Hello Olive Officer,") {
		t.Errorf("mail %q:\n%s", msg.Subject, msg.Text)
	}
	if strings.Contains(string(r.body), strings.TrimPrefix(link, e.n.URL+"/auth/invitation?t=")) {
		t.Error("the answer holds the link's secret")
	}
	// Nothing is published for an offer.
	if evs := e.n.Messages(t, "cop.*.membership.>"); len(evs) != 0 {
		t.Errorf("an invitation published %d events", len(evs))
	}

	// The link signs the officer in, once, and leads to the invitation.
	officer := newBrowser(t, e)
	officer.follow(link, hubInv.ID)
	if status, loc := newBrowser(t, e).get(link); status != http.StatusSeeOther || loc != "/signin?error=link&next=%2Finvitations%2F"+hubInv.ID {
		t.Errorf("a second use of the link: %d to %q, want 303 to sign in another way and come back", status, loc)
	}
	me := e.me(officer.token())
	if me.Person.Name != "Olive Officer" || me.Person.Email != "olive.officer@example.org" || len(me.Grants) != 0 {
		t.Fatalf("after following the link: %+v %v, want Olive registered with no grant yet", me.Person, me.Grants)
	}
	var seen invitationJSON
	e.must(http.StatusOK, &seen, officer.token(), "GET", "/v1/invitations/"+hubInv.ID, "")
	if seen.Status != "open" || seen.InvitedBy != "sec-1" {
		t.Errorf("the invitee sees %+v", seen)
	}

	// Accepting on the page gives the grant, and renews the browser's token to carry it.
	before := officer.token()
	if status, loc := officer.post("/auth/invitations/"+hubInv.ID+"/accept", nil); status != http.StatusSeeOther || loc != "/invitations/"+hubInv.ID {
		t.Fatalf("accept form: %d to %q", status, loc)
	}
	if officer.token() == before {
		t.Error("accepting did not renew the access token")
	}
	me = e.me(officer.token())
	if !slices.Equal(me.Grants, []httpx.Grant{{Role: httpx.RoleHub, Region: "vic"}}) {
		t.Fatalf("/v1/me grants %v, want the vic hub grant", me.Grants)
	}
	var tokenGrants struct {
		Token struct {
			Grants []httpx.Grant `json:"grants"`
		} `json:"token"`
	}
	e.must(http.StatusOK, &tokenGrants, officer.token(), "GET", "/v1/me", "")
	if !slices.Equal(tokenGrants.Token.Grants, me.Grants) {
		t.Errorf("the renewed token carries %v", tokenGrants.Token.Grants)
	}
	awaitEvent(e, "grant_given", func(ev events.GrantGiven) bool {
		return ev.PersonID == me.Person.ID && ev.Role == "hub" && ev.Region == "vic"
	})
	e.do(officer.token(), "POST", "/v1/invitations/"+hubInv.ID+"/accept", "").problem(t, http.StatusConflict)

	// A hub of wa cannot invite coordinators for vic's CoPs, nor the vic officer for wa's.
	e.do(e.hub("wa"), "POST", "/v1/invitations", `{"email":"c@example.org","grant":{"role":"coordinator","cop":"cop-v"}}`).problem(t, http.StatusForbidden)
	e.do(officer.token(), "POST", "/v1/invitations", `{"email":"c@example.org","grant":{"role":"coordinator","cop":"cop-w"}}`).problem(t, http.StatusForbidden)
	// ... nor anyone a hub officer or national.
	e.do(officer.token(), "POST", "/v1/invitations", `{"email":"c@example.org","grant":{"role":"hub","region":"vic"}}`).problem(t, http.StatusForbidden)
	e.do(officer.token(), "POST", "/v1/invitations", `{"email":"c@example.org","grant":{"role":"national"}}`).problem(t, http.StatusForbidden)

	// The officer invites a coordinator for a vic CoP, who accepts through the API.
	coordInv := e.invite(officer.token(), `{"email":"cody@example.org","grant":{"role":"coordinator","cop":"cop-v"},"name":"Cody Coordinator"}`)
	if coordInv.InvitedByName != "Olive Officer" {
		t.Errorf("invited_by_name %q", coordInv.InvitedByName)
	}
	if m := mp.WaitFor(t, "cody@example.org"); !strings.Contains(m.Text, "Olive Officer invited you to copnet as coordinator of CoP cop-v") {
		t.Errorf("coordinator's mail:\n%s", m.Text)
	}
	coord := newBrowser(t, e)
	coord.follow(linkIn(t, mp.WaitFor(t, "cody@example.org")), coordInv.ID)
	var accepted invitationJSON
	e.must(http.StatusOK, &accepted, coord.token(), "POST", "/v1/invitations/"+coordInv.ID+"/accept", "")
	if accepted.Status != "accepted" {
		t.Errorf("accepted: %+v", accepted)
	}
	// The browser's token was issued before the grant: its session gives a fresh one.
	if status, loc := coord.get("/auth/refresh?next=/"); status != http.StatusSeeOther || loc != "/" {
		t.Fatalf("refresh: %d to %q", status, loc)
	}
	if g := e.me(coord.token()).Grants; !slices.Equal(g, []httpx.Grant{{Role: httpx.RoleCoordinator, CoP: "cop-v"}}) {
		t.Fatalf("coordinator's grants %v", g)
	}

	// A coordinator invites members of their CoP, nobody else.
	e.do(coord.token(), "POST", "/v1/invitations", `{"email":"w@example.org","grant":{"role":"working_group","cop":"cop-v"}}`).problem(t, http.StatusForbidden)
	e.do(coord.token(), "POST", "/v1/invitations", `{"email":"w@example.org","grant":{"role":"member","cop":"cop-w"}}`).problem(t, http.StatusForbidden)
	memberInv := e.invite(coord.token(), `{"email":"mia@example.org","grant":{"role":"member","cop":"cop-v"},"name":"Mia Member"}`)
	if memberInv.CodeOfPracticeVersion != 1 {
		t.Errorf("member invitation %+v, want the Code of Practice version to accept", memberInv)
	}
	e.do(coord.token(), "POST", "/v1/invitations", `{"email":"MIA@example.org","grant":{"role":"member","cop":"cop-v"}}`).problem(t, http.StatusConflict)
	mail := mp.WaitFor(t, "mia@example.org")
	if !strings.Contains(mail.Text, "Code of Practice") {
		t.Errorf("the member's mail does not mention the Code of Practice:\n%s", mail.Text)
	}
	member := newBrowser(t, e)
	member.follow(linkIn(t, mail), memberInv.ID)
	mia := e.me(member.token()).Person.ID
	// Someone else's invitation is neither visible nor acceptable.
	e.do(officer.token(), "GET", "/v1/invitations/"+memberInv.ID, "").problem(t, http.StatusForbidden)
	e.do(officer.token(), "POST", "/v1/invitations/"+memberInv.ID+"/accept", `{"code_of_practice_version":1}`).problem(t, http.StatusForbidden)
	// The Code of Practice must be accepted, and it must be the current one.
	p := e.do(member.token(), "POST", "/v1/invitations/"+memberInv.ID+"/accept", "").problem(t, http.StatusUnprocessableEntity)
	if !slices.Equal(p.fields(), []string{"code_of_practice_version"}) {
		t.Errorf("accepting without the Code of Practice: %+v", p)
	}
	if status, loc := member.post("/auth/invitations/"+memberInv.ID+"/accept", url.Values{"code_of_practice_version": {"1"}}); status != http.StatusSeeOther ||
		loc != "/invitations/"+memberInv.ID+"?error=consent" {
		t.Errorf("the form without the box ticked: %d to %q", status, loc)
	}
	if status, loc := member.post("/auth/invitations/"+memberInv.ID+"/accept",
		url.Values{"code_of_practice_version": {"2"}, "accept_code_of_practice": {"yes"}}); status != http.StatusSeeOther ||
		loc != "/invitations/"+memberInv.ID+"?error=version" {
		t.Errorf("the form with a version not current: %d to %q", status, loc)
	}
	if _, ok := e.members("cop-v")[mia]; ok {
		t.Fatal("a refused acceptance joined the member")
	}
	if status, loc := member.post("/auth/invitations/"+memberInv.ID+"/accept",
		url.Values{"code_of_practice_version": {"1"}, "accept_code_of_practice": {"yes"}}); status != http.StatusSeeOther || loc != "/invitations/"+memberInv.ID {
		t.Fatalf("accepting the Code of Practice: %d to %q", status, loc)
	}
	m, ok := e.members("cop-v")[mia]
	if !ok || m.Name != "Mia Member" {
		t.Fatalf("roster %v: Mia did not join under the name she was invited with", e.members("cop-v"))
	}
	awaitEvent(e, "member_joined", func(ev events.MemberJoined) bool {
		return ev.PersonID == mia && ev.CoPID == "cop-v" && ev.CodeOfPracticeVersion == 1
	})
	awaitEvent(e, "grant_given", func(ev events.GrantGiven) bool {
		return ev.PersonID == mia && ev.Role == "member" && ev.CoPID == "cop-v"
	})
	if g := e.me(member.token()).Grants; !slices.Equal(g, []httpx.Grant{{Role: httpx.RoleMember, CoP: "cop-v"}}) {
		t.Errorf("member's grants %v", g)
	}

	// Lists: what each sent, what waits for whom.
	var officerList, miaList struct {
		Sent     []invitationJSON `json:"sent"`
		Received []invitationJSON `json:"received"`
	}
	e.must(http.StatusOK, &officerList, officer.token(), "GET", "/v1/invitations", "")
	if len(officerList.Sent) != 1 || officerList.Sent[0].ID != coordInv.ID || officerList.Sent[0].Status != "accepted" || len(officerList.Received) != 0 {
		t.Errorf("the officer's list %+v", officerList)
	}
	e.must(http.StatusOK, &miaList, member.token(), "GET", "/v1/invitations", "")
	if len(miaList.Sent) != 0 || len(miaList.Received) != 0 {
		t.Errorf("Mia's list after accepting %+v, want nothing waiting", miaList)
	}

	// No event ever carried an address or a name of the invited.
	for _, m := range e.n.Messages(t, "cop.>") {
		for _, personal := range []string{"example.org", "Olive", "Cody", "Mia"} {
			if strings.Contains(string(m.Data), personal) {
				t.Errorf("%s carries %q: %s", m.Subject, personal, m.Data)
			}
		}
	}
}

// TestInvitationsCanBeDeclinedAndExpire: a declined invitation gives nothing and its link
// no longer signs anyone in; an invitation expires after 14 days, its link with it, and a
// new one can then be sent; erasing an invitee removes the invitations to their address.
func TestInvitationsCanBeDeclinedAndExpire(t *testing.T) {
	e, mp := startWithMail(t)
	e.approve("vic", "cop-v")
	declined := e.invite(e.national(), `{"email":"dee@example.org","grant":{"role":"coordinator","cop":"cop-v"}}`)
	later := e.invite(e.hub("vic"), `{"email":"lee@example.org","grant":{"role":"member","cop":"cop-v"}}`)

	dee := newBrowser(t, e)
	deeLink := linkIn(t, mp.WaitFor(t, "dee@example.org"))
	dee.follow(deeLink, declined.ID)
	if status, loc := dee.post("/auth/invitations/"+declined.ID+"/decline", nil); status != http.StatusSeeOther || loc != "/invitations/"+declined.ID {
		t.Fatalf("decline form: %d to %q", status, loc)
	}
	var inv invitationJSON
	e.must(http.StatusOK, &inv, dee.token(), "GET", "/v1/invitations/"+declined.ID, "")
	if inv.Status != "declined" {
		t.Errorf("after declining: %+v", inv)
	}
	if g := e.me(dee.token()).Grants; len(g) != 0 {
		t.Errorf("declining gave %v", g)
	}
	if status, loc := dee.post("/auth/invitations/"+declined.ID+"/accept", nil); status != http.StatusSeeOther || loc != "/invitations/"+declined.ID+"?error=closed" {
		t.Errorf("accepting a declined invitation: %d to %q", status, loc)
	}
	e.do(dee.token(), "POST", "/v1/invitations/"+declined.ID+"/decline", "").problem(t, http.StatusConflict)
	if status, loc := newBrowser(t, e).get(deeLink); status != http.StatusSeeOther || loc != "/signin?error=link" {
		t.Errorf("a declined invitation's link: %d to %q", status, loc)
	}
	// A form post without the CSRF token is refused.
	res, err := dee.c.PostForm(e.n.URL+"/auth/invitations/"+declined.ID+"/decline", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a form without its CSRF token: %d", res.StatusCode)
	}

	// Fourteen days on, the other invitation has expired, and its link with it.
	leeLink := linkIn(t, mp.WaitFor(t, "lee@example.org"))
	e.clock.Advance(14*24*time.Hour + time.Second)
	if status, loc := newBrowser(t, e).get(leeLink); status != http.StatusSeeOther || loc != "/signin?error=link" {
		t.Errorf("an expired invitation's link: %d to %q", status, loc)
	}
	var list struct {
		Sent []invitationJSON `json:"sent"`
	}
	e.must(http.StatusOK, &list, e.hub("vic"), "GET", "/v1/invitations", "")
	if len(list.Sent) != 1 || list.Sent[0].ID != later.ID || list.Sent[0].Status != "expired" {
		t.Errorf("the hub's list %+v", list.Sent)
	}
	// A new invitation replaces the expired one.
	again := e.invite(e.hub("vic"), `{"email":"lee@example.org","grant":{"role":"member","cop":"cop-v"}}`)
	if again.ID == later.ID {
		t.Error("the expired invitation was reused")
	}

	// Erasing Dee removes the invitations to her address.
	e.must(http.StatusNoContent, nil, dee.token(), "DELETE", "/v1/people/"+e.me(dee.token()).Person.ID, "")
	var n int
	if err := e.n.Pool("membership").QueryRow(context.Background(), `SELECT count(*) FROM invitations WHERE lower(email) = 'dee@example.org'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d invitations to an erased person's address remain (%v)", n, err)
	}
}

// TestInvitationInputIsCheckedFieldByField: bad input names each field, and an unknown CoP
// is 404 to those who could invite to it and 403 to others.
func TestInvitationInputIsCheckedFieldByField(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-v")
	for body, want := range map[string][]string{
		`{"email":"not-an-address","grant":{"role":"hub","region":"vic"}}`:      {"email"},
		`{"email":"a@example.org","grant":{"role":"owner"}}`:                    {"grant.role"},
		`{"email":"a@example.org","grant":{"role":"hub"}}`:                      {"grant.region"},
		`{"email":"a@example.org","grant":{"role":"member","region":"vic"}}`:    {"grant.cop"},
		`{"email":"a@example.org","grant":{"role":"hub","region":"v i c"}}`:     {"grant.region"},
		`{"email":"a@example.org","grant":{"role":"national"},"name":"\u0007"}`: {"name"},
	} {
		p := e.do(e.national(), "POST", "/v1/invitations", body).problem(t, http.StatusBadRequest)
		if !slices.Equal(p.fields(), want) {
			t.Errorf("%s: fields %v, want %v", body, p.fields(), want)
		}
	}
	unknown := `{"email":"a@example.org","grant":{"role":"member","cop":"cop-nowhere"}}`
	e.do(e.national(), "POST", "/v1/invitations", unknown).problem(t, http.StatusNotFound)
	e.do(e.hub("wa"), "POST", "/v1/invitations", unknown).problem(t, http.StatusNotFound)
	e.do(e.coordinator("cop-v"), "POST", "/v1/invitations", unknown).problem(t, http.StatusForbidden)
	e.do("", "POST", "/v1/invitations", unknown).problem(t, http.StatusUnauthorized)
	// An address that holds the grant already is told so.
	mem := e.register("Member Already", "already@example.org")
	e.join("cop-v", mem)
	e.do(e.national(), "POST", "/v1/invitations", `{"email":"Already@example.org","grant":{"role":"member","cop":"cop-v"}}`).problem(t, http.StatusConflict)
	e.do(e.national(), "GET", "/v1/invitations/nope", "").problem(t, http.StatusNotFound)
}
