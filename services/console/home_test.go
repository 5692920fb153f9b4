package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCoPHomeAndGovernanceAccess: a member of the WA CoP reads its home in the member view
// (no exports, no governance actions); a member of another CoP gets 403 on it and on its
// removal vote, and cannot vote; a working-group member's bad form input is refused with
// the field named and what they typed kept; the coordinator sees the exports.
func TestCoPHomeAndGovernanceAccess(t *testing.T) {
	w := startWA(t)
	n := w.n
	var rm struct {
		ID string `json:"id"`
	}
	if st := n.JSON(t, "POST", "/v1/cops/"+w.id+"/removals", w.token(t, w.group[0], w.id, true),
		map[string]string{"person_id": w.subject, "reason": "breaches"}, &rm); st != http.StatusCreated {
		t.Fatalf("propose a removal: %d", st)
	}

	member := newBrowser(t, n.URL)
	member.signIn(w.token(t, w.subject, w.id, false))
	page := member.get("/cops/" + w.id)
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="member-view"`) || !strings.Contains(page.body, waPurpose) {
		t.Fatalf("a member's CoP home: %d\n%s", page.status, page.body)
	}
	for _, hidden := range []string{`id="exports"`, "results.csv", `id="propose-removal"`, `id="propose-coordinator"`, `id="removals"`, `id="roster-link"`} {
		if strings.Contains(page.body, hidden) {
			t.Errorf("the member view shows %s", hidden)
		}
	}
	if r := member.get("/cops/" + w.id + "/results.csv"); r.status != http.StatusForbidden {
		t.Errorf("a member exports results: %d, want 403", r.status)
	}

	// The member's page offers their personal calendar link, issued by scheduling.
	me := member.get("/me")
	if !strings.Contains(me.body, "Health Engagement Network") || !strings.Contains(me.body, `id="calendar-form"`) {
		t.Errorf("the member's page lacks their CoP or the calendar form:\n%s", me.body)
	}
	if r := member.post("/me/calendar-link", url.Values{"csrf": {member.cookie("copnet_csrf")}}, nil); r.status != http.StatusOK ||
		!strings.Contains(r.body, `id="feed-url"`) || !strings.Contains(r.body, "calendar.ics?key=") {
		t.Errorf("the calendar link: %d\n%s", r.status, r.body)
	}

	outsider := newBrowser(t, n.URL)
	outsider.signIn(w.token(t, w.another, w.otherCoP, true))
	for _, path := range []string{"/cops/" + w.id, "/removals/" + rm.ID, "/cops/" + w.id + "/removals/new", "/cops/" + w.id + "/appointments/new"} {
		if r := outsider.get(path); r.status != http.StatusForbidden {
			t.Errorf("a member of another CoP GET %s: %d, want 403", path, r.status)
		}
	}
	outsider.get("/me")
	csrf := outsider.cookie("copnet_csrf")
	if r := outsider.post("/removals/"+rm.ID, url.Values{"csrf": {csrf}, "vote": {"remove"}}, nil); r.status != http.StatusForbidden {
		t.Errorf("a member of another CoP votes: %d, want 403", r.status)
	}

	group := newBrowser(t, n.URL)
	group.signIn(w.token(t, w.group[1], w.id, true))
	form := group.get("/cops/" + w.id + "/removals/new")
	if form.status != http.StatusOK || !strings.Contains(form.body, "Sam Troll") {
		t.Fatalf("the working group's removal form: %d", form.status)
	}
	csrf = group.cookie("copnet_csrf")
	bad := group.post("/cops/"+w.id+"/removals/new", url.Values{"csrf": {csrf}, "person_id": {w.subject}, "reason": {"  "}}, nil)
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `id="reason-error"`) ||
		!strings.Contains(bad.body, fmt.Sprintf(`value=%q selected`, w.subject)) {
		t.Errorf("a removal without a reason: %d, want 400 naming the reason and keeping the member chosen\n%s", bad.status, bad.body)
	}
	if r := group.post("/removals/"+rm.ID, url.Values{"csrf": {csrf}, "vote": {"maybe"}}, nil); r.status != http.StatusBadRequest {
		t.Errorf("a vote neither to remove nor to keep: %d, want 400", r.status)
	}
	if r := group.post("/removals/"+rm.ID, url.Values{"csrf": {csrf}, "vote": {"keep"}}, nil); r.status != http.StatusSeeOther {
		t.Errorf("a working-group vote: %d, want a redirect back", r.status)
	}
	if r := group.post("/removals/"+rm.ID, url.Values{"csrf": {csrf}, "vote": {"remove"}}, nil); r.status != http.StatusConflict || !strings.Contains(r.body, "already voted") {
		t.Errorf("a second vote: %d, want 409 saying so", r.status)
	}

	coord := newBrowser(t, n.URL)
	coord.signIn(n.Coordinator(t, w.id))
	if r := coord.get("/cops/" + w.id); r.status != http.StatusOK || !strings.Contains(r.body, `id="exports"`) || strings.Contains(r.body, `id="member-view"`) {
		t.Errorf("the coordinator's CoP home: %d", r.status)
	}
}

// TestCoordinatorAppointmentPages: a working-group member proposes a coordinator from the
// page; the consent window is shown in the CoP's words; a member sees it without a way to
// object; an objection without a reason is refused naming it; one objection lapses it.
func TestCoordinatorAppointmentPages(t *testing.T) {
	w := startWA(t)
	n := w.n
	group := newBrowser(t, n.URL)
	group.signIn(w.token(t, w.group[0], w.id, true))
	if r := group.get("/cops/" + w.id + "/appointments/new"); r.status != http.StatusOK || !strings.Contains(r.body, "Bill Chen") {
		t.Fatalf("the appointment form: %d", r.status)
	}
	csrf := group.cookie("copnet_csrf")
	if r := group.post("/cops/"+w.id+"/appointments/new", url.Values{"csrf": {csrf}}, nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="person_id-error"`) {
		t.Errorf("a proposal naming nobody: %d, want 400 naming the member field", r.status)
	}
	r := group.post("/cops/"+w.id+"/appointments/new", url.Values{"csrf": {csrf}, "person_id": {w.group[1]}}, nil)
	where := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(where, "/appointments/") {
		t.Fatalf("propose Bill: %d %s", r.status, r.body)
	}
	page := group.get(where)
	if !strings.Contains(page.body, "Bill Chen becomes coordinator for a year unless") || !strings.Contains(page.body, `id="objection-form"`) ||
		!strings.Contains(page.body, `id="no-objections"`) || !strings.Contains(page.body, "Consent window:") || strings.Contains(page.body, "T0") {
		t.Errorf("the open appointment:\n%s", page.body)
	}
	member := newBrowser(t, n.URL)
	member.signIn(w.token(t, w.subject, w.id, false))
	if p := member.get(where); p.status != http.StatusOK || strings.Contains(p.body, `id="objection-form"`) {
		t.Errorf("a member's view of the appointment: %d", p.status)
	}
	outsider := newBrowser(t, n.URL)
	outsider.signIn(w.token(t, w.another, w.otherCoP, true))
	if p := outsider.get(where); p.status != http.StatusForbidden {
		t.Errorf("another CoP's member opens the appointment: %d, want 403", p.status)
	}
	path := strings.Split(where, "?")[0]
	if p := group.post(path, url.Values{"csrf": {csrf}, "reason": {""}}, nil); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="reason-error"`) {
		t.Errorf("an objection without a reason: %d, want 400 naming it", p.status)
	}
	if p := group.post(path, url.Values{"csrf": {csrf}, "reason": {"Let us talk about the role first."}}, nil); p.status != http.StatusSeeOther {
		t.Fatalf("object: %d %s", p.status, p.body)
	}
	page = group.get(path)
	if !strings.Contains(page.body, "Lapsed") || !strings.Contains(page.body, "Aroha Bennett: Let us talk about the role first.") {
		t.Errorf("after the objection:\n%s", page.body)
	}
}
