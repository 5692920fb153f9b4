package scheduling_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/copnet/copnet/pkg/events"
)

var march1 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// A member who leaves loses their upcoming turns to others, and each reassignment is
// published as roles_assigned; turns of members who stay do not move.
func TestMemberWhoLeavesLosesFutureTurns(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	people := []string{"p1", "p2", "p3", "p4"}
	e.join("c1", people...)
	for _, p := range people {
		e.must(http.StatusOK, nil, "PUT", "/v1/cops/c1/rotation/"+p, e.member(p), map[string]any{"willing": true})
	}
	before := e.plan("c1", "2026-03-03T18:00", 7).Sessions
	for _, s := range before {
		if s.Facilitator == "" || s.NoteTaker == "" || s.Facilitator == s.NoteTaker {
			t.Fatalf("session %d roles %q/%q: want two different people", s.Number, s.Facilitator, s.NoteTaker)
		}
	}
	var hadP2 []string
	for _, s := range before {
		if s.Facilitator == "p2" || s.NoteTaker == "p2" {
			hadP2 = append(hadP2, s.ID)
		}
	}
	if len(hadP2) == 0 {
		t.Fatal("p2 has no turn to lose; the test proves nothing")
	}
	// Removal comes as member_left from membership, after the rota was made.
	e.n.Publish(t, events.MemberLeft{CoPID: "c1", Region: "vic", PersonID: "p2", Reason: "left"})
	e.await(func() error {
		for _, s := range e.sessions("c1") {
			if s.Facilitator == "p2" || s.NoteTaker == "p2" || s.Facilitator == "" || s.NoteTaker == "" {
				return fmt.Errorf("session %d still %q/%q", s.Number, s.Facilitator, s.NoteTaker)
			}
		}
		return nil
	})
	after := e.sessions("c1")
	for i, s := range after {
		b := before[i]
		if b.Facilitator != "p2" && s.Facilitator != b.Facilitator || b.NoteTaker != "p2" && s.NoteTaker != b.NoteTaker {
			t.Errorf("session %d changed from %s/%s to %s/%s though p2 had no role in it", s.Number, b.Facilitator, b.NoteTaker, s.Facilitator, s.NoteTaker)
		}
		if s.Facilitator == s.NoteTaker {
			t.Errorf("session %d: %s holds both roles", s.Number, s.Facilitator)
		}
	}
	e.await(func() error {
		latest := map[string]events.RolesAssigned{}
		for _, ev := range published[events.RolesAssigned](e, "roles_assigned") {
			latest[ev.SessionID] = ev
		}
		for _, id := range hadP2 {
			ev, ok := latest[id]
			if !ok || ev.Facilitator == "p2" || ev.NoteTaker == "p2" {
				return fmt.Errorf("session %s: last roles_assigned %+v still names p2", id, ev)
			}
		}
		return nil
	})
	// p2 may not opt back in: they are no longer a member.
	e.must(http.StatusForbidden, nil, "PUT", "/v1/cops/c1/rotation/p2", e.member("p2"), map[string]any{"willing": true})
}

// The calendar feed parses with an independent iCalendar library (golang-ical; the feed is
// written by our own code), holds what the API holds, keeps a rescheduled session's UID
// with a higher SEQUENCE, marks a cancelled one, and is reachable with the secret link alone.
func TestCalendarFeedHoldsWhatTheAPIHolds(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	e.join("c1", "p1")
	// Weekly across Melbourne's end of daylight saving on 5 April.
	p := e.plan("c1", "2026-03-24T18:00", 4)
	moved := p.Sessions[1]
	var got session
	e.must(http.StatusOK, &got, "PUT", "/v1/sessions/"+moved.ID, e.coordinator("c1"),
		map[string]any{"starts_at": "2026-03-31T19:30", "topic": "Mentoring, reflective practice"})
	if got.Sequence != 1 || got.LocalStart != "2026-03-31T19:30:00" {
		t.Fatalf("rescheduled session %+v", got)
	}
	e.must(http.StatusOK, nil, "POST", "/v1/sessions/"+p.Sessions[2].ID+"/cancel", e.coordinator("c1"), map[string]any{"reason": "public holiday"})

	var link struct {
		URL  string `json:"url"`
		Path string `json:"path"`
	}
	e.must(http.StatusCreated, &link, "POST", "/v1/people/p1/calendar-link", e.member("p1"), nil)
	if !strings.HasPrefix(link.URL, e.n.URL) {
		t.Errorf("link %q does not point at the node %s", link.URL, e.n.URL)
	}
	st, raw := e.n.Do(t, "GET", link.Path, "", nil)
	if st != http.StatusOK {
		t.Fatalf("feed with key → %d %s", st, raw)
	}
	cal, err := ics.ParseCalendar(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("parse feed: %v\n%s", err, raw)
	}
	api := map[string]session{}
	for _, s := range e.sessions("c1") {
		api[s.ID+"@copnet"] = s
	}
	evs := cal.Events()
	if len(evs) != len(api) {
		t.Fatalf("feed has %d events, API %d sessions", len(evs), len(api))
	}
	for _, ev := range evs {
		s, ok := api[ev.Id()]
		if !ok {
			t.Fatalf("feed event %q is no session", ev.Id())
		}
		start, err := ev.GetStartAt()
		if err != nil {
			t.Fatal(err)
		}
		end, _ := ev.GetEndAt()
		if !start.Equal(s.StartsAt) || !end.Equal(s.EndsAt) {
			t.Errorf("session %d: feed %s–%s, API %s–%s", s.Number, start, end, s.StartsAt, s.EndsAt)
		}
		if loc := start.Location().String(); loc != "Australia/Melbourne" {
			t.Errorf("session %d in zone %s", s.Number, loc)
		}
		if start.Format("15:04") != s.LocalStart[11:16] {
			t.Errorf("session %d: feed wall clock %s, API %s", s.Number, start.Format("15:04"), s.LocalStart)
		}
		seq := ev.GetProperty(ics.ComponentPropertySequence).Value
		if seq != fmt.Sprint(s.Sequence) {
			t.Errorf("session %d: SEQUENCE %s, API sequence %d", s.Number, seq, s.Sequence)
		}
		status := ev.GetProperty(ics.ComponentPropertyStatus).Value
		if (s.Status == "cancelled") != (status == "CANCELLED") {
			t.Errorf("session %d is %s, feed STATUS %s", s.Number, s.Status, status)
		}
		// Each session the CoP still holds says where to evaluate it afterwards: the
		// console's page for the session under the node's public URL.
		description := ""
		if p := ev.GetProperty(ics.ComponentPropertyDescription); p != nil {
			description = p.Value
		}
		evaluate := e.n.URL + "/sessions/" + s.ID + "/evaluate"
		if held := s.Status != "cancelled"; held != strings.Contains(description, evaluate) {
			t.Errorf("session %d (%s): DESCRIPTION %q, want the evaluation link %s only when not cancelled", s.Number, s.Status, description, evaluate)
		}
	}
	if api[moved.ID+"@copnet"].Sequence <= moved.Sequence {
		t.Error("the rescheduled session's SEQUENCE did not grow")
	}
	// Every session stays at 18:00 local apart from the moved one, across the DST change.
	for _, s := range api {
		if s.ID != moved.ID && !strings.HasSuffix(s.LocalStart, "T18:00:00") {
			t.Errorf("session %d at %s local", s.Number, s.LocalStart)
		}
	}

	// A wrong key and a revoked key are refused; the new one works.
	if st, _ := e.n.Do(t, "GET", "/v1/people/p1/calendar.ics?key=guess", "", nil); st != http.StatusUnauthorized {
		t.Errorf("wrong key → %d, want 401", st)
	}
	if st, _ := e.n.Do(t, "GET", "/v1/people/p2/calendar.ics?"+strings.SplitN(link.Path, "?", 2)[1], "", nil); st != http.StatusUnauthorized {
		t.Errorf("p1's key on p2's feed → %d, want 401", st)
	}
	var again struct{ Path string }
	e.must(http.StatusCreated, &again, "POST", "/v1/people/p1/calendar-link", e.member("p1"), nil)
	if st, _ := e.n.Do(t, "GET", link.Path, "", nil); st != http.StatusUnauthorized {
		t.Errorf("revoked key → %d, want 401", st)
	}
	if st, _ := e.n.Do(t, "GET", again.Path, "", nil); st != http.StatusOK {
		t.Errorf("new key → %d, want 200", st)
	}
	// The CoP's own feed link works the same way.
	var copLink struct{ Path string }
	e.must(http.StatusCreated, &copLink, "POST", "/v1/cops/c1/calendar-link", e.coordinator("c1"), nil)
	if st, raw := e.n.Do(t, "GET", copLink.Path, "", nil); st != http.StatusOK || !strings.Contains(string(raw), "BEGIN:VCALENDAR") {
		t.Errorf("CoP feed → %d %s", st, raw)
	}
}

// Held sessions publish session_held, checkin_due after the sessions listed in checkins,
// and participation_declining once when attendance drops 30% from the first three.
func TestHeldSessionsCheckinsAndDecline(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	var members []string
	for i := 1; i <= 10; i++ {
		members = append(members, fmt.Sprintf("m%02d", i))
	}
	e.join("c1", members...)
	p := e.plan("c1", "2026-03-03T18:00", 6, 3, 6)
	// Holding before the session starts is refused.
	e.must(http.StatusConflict, nil, "POST", "/v1/sessions/"+p.Sessions[0].ID+"/held", e.coordinator("c1"), map[string]any{})
	e.clock.Set(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	attended := []int{9, 9, 9, 7, 5, 5} // first three mean .9, last three .567: a 37% drop
	for i, s := range p.Sessions {
		var recs []map[string]any
		for j, m := range members {
			status := "absent"
			if j < attended[i] {
				status = "attended"
			}
			recs = append(recs, map[string]any{"person_id": m, "status": status})
		}
		e.must(http.StatusOK, nil, "POST", "/v1/sessions/"+s.ID+"/attendance", e.coordinator("c1"), recs)
		e.must(http.StatusOK, nil, "POST", "/v1/sessions/"+s.ID+"/held", e.coordinator("c1"),
			map[string]any{"notes": "good", "outcomes": []string{"shared a case"}})
	}
	e.must(http.StatusConflict, nil, "POST", "/v1/sessions/"+p.Sessions[0].ID+"/held", e.coordinator("c1"), map[string]any{})
	var part struct {
		Trend     string  `json:"trend"`
		Declining bool    `json:"declining"`
		Early     float64 `json:"early_rate"`
	}
	e.must(http.StatusOK, &part, "GET", "/v1/cops/c1/participation", e.hub("vic"), nil)
	if !part.Declining || part.Trend != "declining" || part.Early < .89 || part.Early > .91 {
		t.Errorf("participation %+v", part)
	}
	e.await(func() error {
		held := published[events.SessionHeld](e, "session_held")
		checkins := published[events.CheckinDue](e, "checkin_due")
		declines := published[events.ParticipationDeclining](e, "participation_declining")
		var nums []int
		for _, c := range checkins {
			nums = append(nums, c.Number)
		}
		slices.Sort(nums)
		if len(held) != 6 || !slices.Equal(nums, []int{3, 6}) || len(declines) != 1 {
			return fmt.Errorf("held %d, checkins %v, declines %d; want 6, [3 6], 1", len(held), nums, len(declines))
		}
		if declines[0].CoPID != "c1" || declines[0].Drop < .3 {
			return fmt.Errorf("decline %+v", declines[0])
		}
		return nil
	})
}

// Retiring a CoP cancels its upcoming sessions (publishing session_cancelled) and leaves
// the past alone.
func TestRetiredCoPCancelsUpcomingSessions(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	e.plan("c1", "2026-02-24T18:00", 3) // the first is already past
	e.n.Publish(t, events.CoPRetired{CoPID: "c1", Region: "vic", Reason: "merged"})
	e.await(func() error {
		ss := e.sessions("c1")
		if ss[0].Status != "scheduled" || ss[1].Status != "cancelled" || ss[2].Status != "cancelled" {
			return fmt.Errorf("statuses %s %s %s", ss[0].Status, ss[1].Status, ss[2].Status)
		}
		if n := len(published[events.SessionCancelled](e, "session_cancelled")); n != 2 {
			return fmt.Errorf("%d session_cancelled, want 2", n)
		}
		return nil
	})
	e.must(http.StatusConflict, nil, "POST", "/v1/cops/c1/programs", e.national(), programBody("2026-03-03T18:00", 2))
}

// Bad input is a 400 naming every offending field, and nothing is stored.
func TestBadProgramNamesEveryFieldAndStoresNothing(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	st, raw := e.n.Do(t, "POST", "/v1/cops/c1/programs", e.national(), map[string]any{
		"title": "", "sessions": 0, "first_session_at": "2026-03-03T18:00+11:00", "timezone": "Mars/Olympus",
		"cadence": "FREQ=WEEKLY;COUNT=3", "duration_minutes": 0, "format": []string{}, "checkins": []int{9},
	})
	if st != http.StatusBadRequest {
		t.Fatalf("→ %d %s", st, raw)
	}
	for _, f := range []string{"title", "sessions", "timezone", "first_session_at", "cadence", "duration_minutes", "checkins"} {
		if !strings.Contains(string(raw), `"field":"`+f+`"`) {
			t.Errorf("problem does not name %s: %s", f, raw)
		}
	}
	st, raw = e.n.Do(t, "POST", "/v1/cops/c1/programs", e.national(), map[string]any{
		"title": "x", "sessions": 3, "first_session_at": "2026-03-04T18:00", "timezone": "Australia/Melbourne",
		"cadence": "FREQ=WEEKLY;BYDAY=TU", "duration_minutes": 60,
	})
	if st != http.StatusUnprocessableEntity || !strings.Contains(string(raw), "first_session_at") {
		t.Errorf("off-cadence first session → %d %s", st, raw)
	}
	if ss := e.sessions("c1"); len(ss) != 0 {
		t.Errorf("%d sessions stored after refused programs", len(ss))
	}
	if st, _ := e.n.Do(t, "POST", "/v1/cops/unknown/programs", e.national(), programBody("2026-03-03T18:00", 2)); st != http.StatusNotFound {
		t.Errorf("unknown CoP → %d, want 404", st)
	}
}

// person_erased scrubs the person: no session names them any more, their upcoming turns
// go to others, and past attendance keeps its count without their id.
func TestErasedPersonIsScrubbed(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	e.join("c1", "p1", "p2", "p3")
	for _, p := range []string{"p1", "p2", "p3"} {
		e.must(http.StatusOK, nil, "PUT", "/v1/cops/c1/rotation/"+p, e.coordinator("c1"), map[string]any{"willing": true})
	}
	p := e.plan("c1", "2026-03-03T18:00", 4)
	e.clock.Set(p.Sessions[0].StartsAt.Add(time.Hour))
	e.must(http.StatusOK, nil, "POST", "/v1/sessions/"+p.Sessions[0].ID+"/attendance", e.coordinator("c1"),
		[]map[string]any{{"person_id": "p1", "status": "attended"}, {"person_id": "p2", "status": "attended"}})
	e.must(http.StatusOK, nil, "POST", "/v1/sessions/"+p.Sessions[0].ID+"/held", e.coordinator("c1"), map[string]any{})
	e.n.Publish(t, events.PersonErased{PersonID: "p1"})
	e.await(func() error {
		for _, s := range e.sessions("c1") {
			if s.Facilitator == "p1" || s.NoteTaker == "p1" {
				return fmt.Errorf("session %d still names p1", s.Number)
			}
		}
		return nil
	})
	var n int
	if err := e.n.Pool("scheduling").QueryRow(t.Context(),
		"SELECT (SELECT count(*) FROM attendance WHERE person_id = 'p1') + (SELECT count(*) FROM members WHERE person_id = 'p1') + (SELECT count(*) FROM rotation WHERE person_id = 'p1')").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows still hold p1", n)
	}
	var part struct {
		Sessions []struct {
			Attended int `json:"attended"`
		} `json:"sessions"`
	}
	e.must(http.StatusOK, &part, "GET", "/v1/cops/c1/participation", e.national(), nil)
	if len(part.Sessions) != 1 || part.Sessions[0].Attended != 2 {
		t.Errorf("participation after erasure %+v, want the 2 attendances kept", part)
	}
	// A member_joined for p1 delivered late does not bring them back.
	e.n.Publish(t, events.MemberJoined{CoPID: "c1", Region: "vic", PersonID: "p1", CodeOfPracticeVersion: 1})
	e.n.Publish(t, events.MemberJoined{CoPID: "c1", Region: "vic", PersonID: "p4", CodeOfPracticeVersion: 1})
	e.join("c1", "p4") // processed after p1's, on the same consumer
	if st, _ := e.n.Do(t, "GET", "/v1/cops/c1/sessions", e.member("p1"), nil); st != http.StatusForbidden {
		t.Errorf("erased person sees the CoP: %d", st)
	}
}
