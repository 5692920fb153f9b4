package console_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/httpx"
)

// uploadRoster posts a CSV file as the roster page's upload form does.
func uploadRoster(t *testing.T, b *browser, csrf, path, content string) response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", csrf)
	fw, err := mw.CreateFormFile("roster", "roster.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte(content))
	_ = mw.Close()
	req, err := http.NewRequest("POST", b.base+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(raw)}
}

// signedInBrowser is a browser without JavaScript holding tok, with its CSRF cookie from a
// first page.
func signedInBrowser(t *testing.T, base, tok, page string) (*browser, string) {
	t.Helper()
	b := newBrowser(t, base)
	b.signIn(tok)
	b.get(page)
	return b, b.cookie(httpx.CSRFCookie)
}

// TestCharterRosterAndJoinFormsWithoutJavaScript: the charter, roster, directory and join
// pages as plain form posts. Another CoP's coordinator is refused the editor's post and the
// roster; a bad address in the invite box is named and what was typed is kept; a person
// who is not a member cannot read the directory; once the coordinator opens online
// registration, a signed-in person reads the Code of Practice, joins without ticking the
// box (refused, naming it), then joins accepting it and reads the directory.
func TestCharterRosterAndJoinFormsWithoutJavaScript(t *testing.T) {
	n, _ := charterNode(t)
	cop := registeredCoP(t, n, "Engagement officers")
	other := registeredCoP(t, n, "Another CoP")
	coord, csrf := signedInBrowser(t, n.URL, n.Coordinator(t, cop), "/cops/"+cop+"/charter")
	charter := url.Values{"csrf": {csrf}, "aims": {charterAims}, "terms_of_reference": {charterTerms}, "code_of_practice": {codeV1}}

	// The editor refuses an empty Code of Practice, naming it and keeping the aims typed.
	bad := url.Values{"csrf": {csrf}, "aims": {"Our aims & more"}, "terms_of_reference": {"x"}, "code_of_practice": {"  "}}
	if r := coord.post("/cops/"+cop+"/charter", bad, nil); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, "Code of Practice is required") || !strings.Contains(r.body, "Our aims &amp; more") {
		t.Errorf("empty Code of Practice: %d\n%s", r.status, r.body)
	}
	if r := coord.post("/cops/"+cop+"/charter", charter, nil); r.status != http.StatusSeeOther {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	codeVersionKnown(t, n, cop, 1)

	// Another CoP's coordinator: the registry refuses the charter, membership the roster
	// and its invitations.
	intruder, icsrf := signedInBrowser(t, n.URL, n.Coordinator(t, other), "/cops/"+other+"/charter")
	charter.Set("csrf", icsrf)
	if r := intruder.post("/cops/"+cop+"/charter", charter, nil); r.status != http.StatusForbidden || !strings.Contains(r.body, "The registry refused") {
		t.Errorf("another coordinator's charter: %d", r.status)
	}
	if r := intruder.get("/cops/" + cop + "/roster"); r.status != http.StatusForbidden {
		t.Errorf("another coordinator's roster: %d", r.status)
	}
	if r := intruder.post("/cops/"+cop+"/roster/invitations", url.Values{"csrf": {icsrf}, "emails": {"eve@example.org"}}, nil); r.status != http.StatusForbidden {
		t.Errorf("another coordinator's invitation: %d", r.status)
	}
	if r := intruder.get("/cops/" + cop + "/charter"); r.status != http.StatusOK || strings.Contains(r.body, `id="charter-form"`) {
		t.Errorf("another coordinator reads the charter (%d) and must not be offered the editor", r.status)
	}

	// A bad address is named; nothing is sent and what was typed stays.
	typed := "ana@example.org\nnot-an-address"
	if r := coord.post("/cops/"+cop+"/roster/invitations", url.Values{"csrf": {csrf}, "emails": {typed}}, nil); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, "These are not e-mail addresses: not-an-address") || !strings.Contains(r.body, "ana@example.org\nnot-an-address</textarea>") {
		t.Errorf("bad address: %d\n%s", r.status, r.body)
	}

	// A CSV roster: a bad row invites nobody and names the line; a good file invites.
	if r := uploadRoster(t, coord, csrf, "/cops/"+cop+"/roster/import", "name,email\nCai,cai@example.org\nDee,not-an-address\n"); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Nobody was invited") || !strings.Contains(r.body, "line 3") {
		t.Errorf("bad roster: %d\n%s", r.status, r.body)
	}
	if r := uploadRoster(t, coord, csrf, "/cops/"+cop+"/roster/import", "name,email,organisation\nCai Ngata,cai@example.org,Te Whatu Ora\nDee Ross,dee@example.org,\n"); r.status != http.StatusSeeOther ||
		!strings.Contains(r.header.Get("Location"), "invited=2") {
		t.Errorf("roster upload: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	if r := coord.get("/cops/" + cop + "/roster"); !strings.Contains(r.body, "Invitations waiting for an answer (2)") || !strings.Contains(r.body, "cai@example.org") {
		t.Errorf("the roster after the upload:\n%s", r.body)
	}
	if r := uploadRoster(t, intruder, icsrf, "/cops/"+cop+"/roster/import", "name,email\nEve,eve@example.org\n"); r.status != http.StatusForbidden {
		t.Errorf("another coordinator's upload: %d", r.status)
	}

	// A registered person who is no member: no directory, and no joining while
	// registration is closed.
	var person struct{ ID string }
	if st := n.JSON(t, "POST", "/v1/people", n.National(t), map[string]string{"name": "Ana Ruiz", "email": "ana@example.org", "organisation": "Barwon Health"}, &person); st != http.StatusCreated {
		t.Fatalf("register: %d", st)
	}
	ana, acsrf := signedInBrowser(t, n.URL, n.Token(t, httpx.Claims{Subject: person.ID}), "/cops/"+cop+"/join")
	if r := ana.get("/cops/" + cop + "/directory"); r.status != http.StatusForbidden {
		t.Errorf("a non-member's directory: %d", r.status)
	}
	if r := ana.get("/cops/" + cop + "/join"); !strings.Contains(r.body, `id="registration-closed"`) {
		t.Errorf("closed registration's join page:\n%s", r.body)
	}
	join := url.Values{"csrf": {acsrf}, "code_of_practice_version": {"1"}, "accept_code_of_practice": {"yes"}}
	if r := ana.post("/cops/"+cop+"/join", join, nil); r.status != http.StatusForbidden {
		t.Errorf("joining while closed: %d", r.status)
	}

	// The coordinator opens registration; Ana reads the Code of Practice and joins.
	if r := coord.post("/cops/"+cop+"/roster/registration", url.Values{"csrf": {csrf}, "open": {"yes"}}, nil); r.status != http.StatusSeeOther {
		t.Fatalf("open registration: %d %s", r.status, r.body)
	}
	if r := ana.get("/cops/" + cop + "/join"); !strings.Contains(r.body, "We listen first.") || !strings.Contains(r.body, `id="join-form"`) {
		t.Errorf("open registration's join page:\n%s", r.body)
	}
	if r := ana.post("/cops/"+cop+"/join", url.Values{"csrf": {acsrf}, "code_of_practice_version": {"1"}}, nil); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, "I accept the Code of Practice") {
		t.Errorf("joining without ticking: %d", r.status)
	}
	if r := ana.post("/cops/"+cop+"/join", join, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/cops/"+cop+"/directory" {
		t.Fatalf("join: %d %s", r.status, r.body)
	}
	if r := ana.get("/cops/" + cop + "/directory"); r.status != http.StatusOK || !strings.Contains(r.body, "<td>Ana Ruiz</td><td>Barwon Health</td>") {
		t.Errorf("the new member's directory: %d\n%s", r.status, r.body)
	}
	if r := coord.get("/cops/" + cop + "/roster"); !strings.Contains(r.body, "Every member has accepted the current Code of Practice (version 1).") {
		t.Errorf("the roster after Ana joined:\n%s", r.body)
	}
}
