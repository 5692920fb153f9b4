package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/testkit"
)

// TestTheAttendanceSheetStartsFromTheAnswersAhead, without JavaScript: two members answer
// ahead of a session that starts 20 seconds later (answers are taken only before the start, attendance only after it) (one will come, one sends apologies);
// once it has started the coordinator's sheet has them ticked present and apologies and
// everyone else absent, and the plain form post records it and marks the session held.
// The forbidden: a member cannot open the sheet, a member of another CoP cannot answer,
// and a post without the CSRF token does nothing.
func TestTheAttendanceSheetStartsFromTheAnswersAhead(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits for a session to start")
	}
	n := startProgramNode(t)
	people := programCoP(t, n, "sheet", "Carers sheet", "Aroha Smith", "Ben Nguyen", "Chloe Martin")
	others := programCoP(t, n, "other", "Another CoP", "Oscar Other")
	melbourne, _ := time.LoadLocation("Australia/Melbourne")
	startsAt := time.Now().Add(20 * time.Second).In(melbourne)
	var prog struct {
		Sessions []struct {
			ID string `json:"id"`
		} `json:"sessions"`
	}
	body := map[string]any{"title": "Soon", "sessions": 1, "first_session_at": startsAt.Format("2006-01-02T15:04:05"),
		"timezone": "Australia/Melbourne", "cadence": "FREQ=WEEKLY", "duration_minutes": 60}
	if st := n.JSON(t, "POST", "/v1/cops/sheet/programs", n.Coordinator(t, "sheet"), body, &prog); st != http.StatusCreated {
		t.Fatalf("plan: %d", st)
	}
	session := prog.Sessions[0].ID

	answer := func(token, answer string) response {
		b := newBrowser(t, n.URL)
		b.signIn(token)
		b.get("/sessions/" + session)
		return b.post("/sessions/"+session+"/rsvp", url.Values{"csrf": {b.cookie("copnet_csrf")}, "answer": {answer}}, nil)
	}
	if res := answer(n.Member(t, people[0].ID), "coming"); res.status != http.StatusSeeOther {
		t.Fatalf("Aroha answers: %d %s", res.status, res.body)
	}
	if res := answer(n.Member(t, people[1].ID), "apologies"); res.status != http.StatusSeeOther {
		t.Fatalf("Ben answers: %d %s", res.status, res.body)
	}
	if res := answer(n.Member(t, others[0].ID), "coming"); res.status != http.StatusForbidden {
		t.Errorf("a member of another CoP answers: %d, want 403", res.status)
	}
	member := newBrowser(t, n.URL)
	member.signIn(n.Member(t, people[2].ID))
	if res := member.get("/sessions/" + session + "/attendance"); res.status != http.StatusForbidden {
		t.Errorf("a member opens the sheet: %d, want 403", res.status)
	}

	coord := newBrowser(t, n.URL)
	coord.signIn(n.Coordinator(t, "sheet"))
	var sheet string
	testkit.Eventually(t, waitFor, func() error {
		res := coord.get("/sessions/" + session + "/attendance")
		if !strings.Contains(res.body, `id="attendance-form"`) {
			return fmt.Errorf("no sheet yet (%d)", res.status)
		}
		sheet = res.body
		return nil
	})
	checked := regexp.MustCompile(`name="status\.([^"]+)" value="(\w+)" checked`)
	got := map[string]string{}
	for _, m := range checked.FindAllStringSubmatch(sheet, -1) {
		got[m[1]] = m[2]
	}
	want := map[string]string{people[0].ID: "attended", people[1].ID: "apologies", people[2].ID: "absent"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the sheet is pre-filled %v, want %v", got, want)
	}
	form := url.Values{"status." + people[0].ID: {"attended"}, "status." + people[1].ID: {"apologies"},
		"status." + people[2].ID: {"attended"}, "notes": {"Good talk."}, "outcomes": {"Share the respite list\nInvite Otago"}, "held": {"yes"}}
	if res := coord.post("/sessions/"+session+"/attendance", form, nil); res.status != http.StatusForbidden {
		t.Errorf("a post without the CSRF token: %d, want 403", res.status)
	}
	form.Set("csrf", coord.cookie("copnet_csrf"))
	if res := coord.post("/sessions/"+session+"/attendance", form, nil); res.status != http.StatusSeeOther {
		t.Fatalf("save the sheet: %d %s", res.status, res.body)
	}
	var s struct {
		Status   string   `json:"status"`
		Outcomes []string `json:"outcomes"`
	}
	n.JSON(t, "GET", "/v1/sessions/"+session, n.Coordinator(t, "sheet"), nil, &s)
	if s.Status != "held" || len(s.Outcomes) != 2 {
		t.Errorf("after the sheet the session is %+v", s)
	}
	var recs struct {
		Records []struct {
			PersonID string `json:"person_id"`
			Status   string `json:"status"`
		} `json:"records"`
	}
	n.JSON(t, "GET", "/v1/sessions/"+session+"/attendance", n.Coordinator(t, "sheet"), nil, &recs)
	if len(recs.Records) != 3 {
		t.Errorf("records: %+v", recs.Records)
	}
}
