package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/registry"
)

// applicationForm is a complete application as the /apply form posts it.
func applicationForm(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "region": {"vic"}, "name": {"Western carers"}, "scope": {"local"},
		"purpose": {"Carers share."}, "topics": {"carers"}, "host_organisations": {"Carers Victoria"},
		"meeting_frequency": {"Monthly"}, "meeting_when": {"Tuesday"}, "meeting_duration": {"90"},
		"meeting_format": {"Share, Discuss"}, "contact_name": {"Mia Tran"}, "contact_email": {"mia@example.org"}}
}

// TestApplicationPagesRefuse: the application pages' forms need the CSRF token and a
// sign-in, refuse bad input with a problem naming the field (nothing reaches the
// registry), and an application's page is its applicant's only: the hub decides on the
// region page, anyone else learns nothing.
func TestApplicationPagesRefuse(t *testing.T) {
	n := startConsole(t, registry.Factory)
	if st := n.JSON(t, "POST", "/v1/regions", n.National(t), map[string]string{"id": "vic", "name": "Victoria"}, nil); st != http.StatusCreated {
		t.Fatalf("create region: %d", st)
	}
	applicant := newBrowser(t, n.URL)
	applicant.signIn(n.Member(t, "applicant-1"))
	if p := applicant.get("/apply"); p.status != http.StatusOK || !strings.Contains(p.body, `id="application-form"`) {
		t.Fatalf("GET /apply signed in: %d", p.status)
	}
	csrf := applicant.cookie(httpx.CSRFCookie)
	// Someone with no grant, coming back to the console, lands on their applications.
	if p := applicant.get("/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications" {
		t.Errorf("GET / by a person without grants: %d to %q, want 303 to /applications", p.status, p.header.Get("Location"))
	}

	if p := applicant.post("/apply", applicationForm("wrong"), nil); p.status != http.StatusForbidden {
		t.Errorf("POST /apply with a wrong CSRF token: %d, want 403", p.status)
	}
	anonymous := newBrowser(t, n.URL)
	if p := anonymous.get("/apply"); p.status != http.StatusOK || !strings.Contains(p.body, `id="signin-to-apply"`) {
		t.Errorf("GET /apply not signed in: %d, want the page that says how to sign in", p.status)
	}
	for field, bad := range map[string]string{"meeting_duration": "ninety", "name": "a\x00b", "purpose": strings.Repeat("x", 4001)} {
		form := applicationForm(csrf)
		form.Set(field, bad)
		p := applicant.post("/apply", form, nil)
		var prob httpx.Problem
		_ = json.Unmarshal([]byte(p.body), &prob)
		if p.status != http.StatusBadRequest || len(prob.Errors) != 1 || prob.Errors[0].Field != field {
			t.Errorf("POST /apply with a bad %s: %d %s, want a 400 problem naming it", field, p.status, p.body)
		}
	}
	// A form the registry refuses is shown again, filled in, saying why.
	form := applicationForm(csrf)
	form.Set("contact_email", "not an address")
	if p := applicant.post("/apply", form, nil); p.status != http.StatusBadRequest || !strings.Contains(p.body, "contact.email") || !strings.Contains(p.body, `value="Western carers"`) {
		t.Errorf("POST /apply with an address the registry refuses: %d, want the form again naming contact.email", p.status)
	}
	var mine struct {
		Applications []struct{ ID string } `json:"applications"`
	}
	n.JSON(t, "GET", "/v1/applications", n.Member(t, "applicant-1"), nil, &mine)
	if len(mine.Applications) != 0 {
		t.Fatalf("refused forms created %v", mine.Applications)
	}

	p := applicant.post("/apply", applicationForm(csrf), nil)
	where := p.header.Get("Location")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(where, "/applications/") {
		t.Fatalf("POST /apply: %d to %q, want 303 to the application's page", p.status, where)
	}
	page := strings.Split(where, "?")[0]
	if p := applicant.get(page); p.status != http.StatusOK || !strings.Contains(p.body, "Waiting for the hub") {
		t.Errorf("the applicant's page: %d", p.status)
	}
	// Editing before the hub asks: the registry's 409, shown on the page.
	if p := applicant.post(page, applicationForm(csrf), nil); p.status != http.StatusConflict {
		t.Errorf("resubmitting before the hub asked: %d, want 409", p.status)
	}
	for who, tok := range map[string]string{"the hub": n.Hub(t, "vic"), "another person": n.Member(t, "stranger")} {
		b := newBrowser(t, n.URL)
		b.signIn(tok)
		if p := b.get(page); p.status != http.StatusNotFound {
			t.Errorf("%s opening the application's page: %d, want 404", who, p.status)
		}
		b.get("/apply")
		if p := b.post(page, applicationForm(b.cookie(httpx.CSRFCookie)), nil); p.status != http.StatusNotFound && p.status != http.StatusForbidden {
			t.Errorf("%s resubmitting the application: %d, want 403 or 404", who, p.status)
		}
	}
	if p := anonymous.get(page); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/signin") {
		t.Errorf("the application's page not signed in: %d, want 303 to /signin", p.status)
	}
}
