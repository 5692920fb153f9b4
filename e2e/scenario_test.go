package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the CoP's zone, whatever the machine has installed

	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
)

// The scenario's later steps: scheduling, feedback, knowledge and the console, each through
// its service's own HTTP API, each waiting (never sleeping) for the events that reach it
// from the others.

// copZone is where the Victorian CoP meets; its program's cadence is expanded there.
const copZone = "Australia/Melbourne"

// sessionView is a session as scheduling's API shows it.
type sessionView struct {
	ID          string     `json:"id"`
	ProgramID   string     `json:"program_id"`
	CoPID       string     `json:"cop_id"`
	Number      int        `json:"number"`
	StartsAt    time.Time  `json:"starts_at"`
	LocalStart  string     `json:"local_start"`
	Timezone    string     `json:"timezone"`
	Status      string     `json:"status"`
	Facilitator string     `json:"facilitator"`
	NoteTaker   string     `json:"note_taker"`
	HeldAt      *time.Time `json:"held_at"`
}

// heldSession is a session the scenario held, with its attendance.
type heldSession struct {
	id                          string
	attended, apologies, absent int
}

// rate is the share of recorded people who attended, as the console computes it.
func (h heldSession) rate() float64 {
	return float64(h.attended) / float64(h.attended+h.apologies+h.absent)
}

func (d *deployment) national(t *testing.T) string {
	return d.token(t, httpx.Claims{Subject: "secretariat", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
}

func (d *deployment) hub(t *testing.T, region string) string {
	return d.token(t, httpx.Claims{Subject: region + "-hub", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: region}}})
}

// coordinator is the first member, coordinating the scenario's CoP.
func (d *deployment) coordinator(t *testing.T, s *scenario) string {
	return d.token(t, httpx.Claims{Subject: s.members[0], Grants: []httpx.Grant{{Role: httpx.RoleCoordinator, CoP: s.copID}}})
}

func (d *deployment) member(t *testing.T, person string) string {
	return d.token(t, httpx.Claims{Subject: person})
}

// await retries a request until it answers want: for requests a service accepts only once
// another service's events have reached it. The last answer is reported on timeout.
func (d *deployment) await(t *testing.T, service, method, path, token string, body, out any, want int) {
	t.Helper()
	testkit.Eventually(t, eventTimeout, func() error {
		status, raw := d.try(t, service, method, path, token, body)
		if status != want {
			return fmt.Errorf("%s %s %s: %d, want %d: %s", service, method, path, status, want, raw)
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("%s %s %s: %v in %s", service, method, path, err, raw)
			}
		}
		return nil
	})
}

// storedCount is how many events the stream holds on subject now.
func (d *deployment) storedCount(t *testing.T, subject string) uint64 {
	t.Helper()
	info, err := d.js.StreamInfo("COPNET", &nats.StreamInfoRequest{SubjectsFilter: subject})
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}

// lastEvent decodes the latest event stored on subject.
func (d *deployment) lastEvent(t *testing.T, subject string, out any) {
	t.Helper()
	msg, err := d.js.GetLastMsg("COPNET", subject)
	if err != nil {
		t.Fatalf("last event on %s: %v", subject, err)
	}
	if err := json.Unmarshal(msg.Data, out); err != nil {
		t.Fatalf("event on %s: %v in %s", subject, err, msg.Data)
	}
}

// byday is the RRULE weekday code of w.
func byday(w time.Weekday) string {
	return [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}[w]
}

// programPlanned: members opt in and out of the rotating roles, then the coordinator plans
// a seven-session Share / Discuss / Apply program, weekly at 6 pm Melbourne time. The
// program began two weeks ago (its first three sessions are past, to be recorded as held);
// the four still ahead get a facilitator and a note-taker from the willing members.
func programPlanned(t *testing.T, d *deployment, s *scenario) {
	if len(s.members) < 6 {
		t.Fatalf("the scenario needs six members, has %d", len(s.members))
	}
	// Members 1-4 take either role, member 5 only notes, member 6 neither. Each says so
	// themselves; scheduling knows them once membership's member_joined reached it.
	type rotation struct {
		Roles []string `json:"roles"`
	}
	opt := []struct {
		body map[string]any
		want []string
	}{
		{map[string]any{"willing": true}, []string{"facilitator", "note_taker"}},
		{map[string]any{"willing": true}, []string{"facilitator", "note_taker"}},
		{map[string]any{"willing": true}, []string{"facilitator", "note_taker"}},
		{map[string]any{"willing": true}, []string{"facilitator", "note_taker"}},
		{map[string]any{"willing": true, "roles": []string{"note_taker"}}, []string{"note_taker"}},
		{map[string]any{"willing": false}, []string{}},
	}
	for i, o := range opt {
		var got rotation
		d.await(t, "scheduling", "PUT", "/v1/cops/"+s.copID+"/rotation/"+s.members[i], d.member(t, s.members[i]), o.body, &got, http.StatusOK)
		if !slices.Equal(got.Roles, o.want) {
			t.Fatalf("member %d's rotation: roles %v, want %v", i+1, got.Roles, o.want)
		}
	}
	// Another member's willingness is theirs to give.
	if status, raw := d.try(t, "scheduling", "PUT", "/v1/cops/"+s.copID+"/rotation/"+s.members[5], d.member(t, s.members[1]),
		map[string]any{"willing": true}); status != http.StatusForbidden {
		t.Fatalf("member 2 opting member 6 in: %d %s, want 403", status, raw)
	}

	loc, err := time.LoadLocation(copZone)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	first := time.Date(now.Year(), now.Month(), now.Day()-15, 18, 0, 0, 0, loc)
	var program struct {
		ID       string        `json:"id"`
		CoPID    string        `json:"cop_id"`
		Timezone string        `json:"timezone"`
		Cadence  string        `json:"cadence"`
		Sessions []sessionView `json:"sessions"`
	}
	d.call(t, "scheduling", "POST", "/v1/cops/"+s.copID+"/programs", d.coordinator(t, s), map[string]any{
		"title":            "Share / Discuss / Apply: youth mental health",
		"sessions":         7,
		"first_session_at": first.Format("2006-01-02T15:04"),
		"timezone":         copZone,
		"cadence":          "RRULE:FREQ=WEEKLY;BYDAY=" + byday(first.Weekday()),
		"duration_minutes": 90,
		"format":           []string{"share", "discuss", "apply"},
		"checkins":         []int{3},
	}, &program, http.StatusCreated)
	if program.ID == "" || program.CoPID != s.copID || program.Timezone != copZone || len(program.Sessions) != 7 {
		t.Fatalf("planned program: %+v", program)
	}
	members := func(n int) []string { return s.members[:n] }
	var past, ahead []sessionView
	for i, ss := range program.Sessions {
		want := first.AddDate(0, 0, 7*i) // weekly in Melbourne: 6 pm local across daylight saving
		if ss.Number != i+1 || !ss.StartsAt.Equal(want) || ss.LocalStart != want.Format("2006-01-02T15:04:05") ||
			ss.Status != "scheduled" || ss.CoPID != s.copID || ss.ProgramID != program.ID {
			t.Fatalf("session %d: %+v, want number %d at %s (%s local)", i+1, ss, i+1, want.UTC(), want.Format(time.DateTime))
		}
		if ss.StartsAt.Before(time.Now()) {
			past = append(past, ss)
			// The rotation gives turns only in sessions still ahead.
			if ss.Facilitator != "" || ss.NoteTaker != "" {
				t.Errorf("past session %d was given roles: %+v", ss.Number, ss)
			}
			continue
		}
		ahead = append(ahead, ss)
		if !slices.Contains(members(4), ss.Facilitator) || !slices.Contains(members(5), ss.NoteTaker) || ss.Facilitator == ss.NoteTaker {
			t.Errorf("session %d: facilitator %q, note-taker %q: want a willing facilitator (members 1-4) and a different willing note-taker (members 1-5)",
				ss.Number, ss.Facilitator, ss.NoteTaker)
		}
	}
	if len(past) != 3 || len(ahead) != 4 {
		t.Fatalf("%d sessions past and %d ahead, want 3 and 4", len(past), len(ahead))
	}
	// Four willing facilitators, four sessions ahead: fewest turns first gives each one turn.
	facilitators := map[string]bool{}
	for _, ss := range ahead {
		facilitators[ss.Facilitator] = true
	}
	if len(facilitators) != 4 {
		t.Errorf("facilitators of the four sessions ahead: %v, want four different members", facilitators)
	}
	s.sessions = program.Sessions

	// Members see their CoP's sessions as planned.
	var listed struct{ Sessions []sessionView }
	d.call(t, "scheduling", "GET", "/v1/cops/"+s.copID+"/sessions", d.member(t, s.members[5]), nil, &listed, http.StatusOK)
	if len(listed.Sessions) != 7 || listed.Sessions[3].Facilitator != ahead[0].Facilitator {
		t.Fatalf("member's view of the sessions: %+v", listed.Sessions)
	}
	d.eventsStored(t, map[string]uint64{
		subject("scheduling", "program_planned"):   1,
		subject("scheduling", "session_scheduled"): 7,
		subject("scheduling", "roles_assigned"):    4,
	})
}

// sessionsHeld: the coordinator records attendance of the three past sessions and marks
// them held; a session still ahead can be neither. Participation shows the turnout.
func sessionsHeld(t *testing.T, d *deployment, s *scenario) {
	coord := d.coordinator(t, s)
	if len(s.sessions) != 7 {
		t.Fatalf("no program planned: %d sessions", len(s.sessions))
	}
	next := s.sessions[3]
	if status, raw := d.try(t, "scheduling", "POST", "/v1/sessions/"+next.ID+"/held", coord, map[string]any{}); status != http.StatusConflict {
		t.Fatalf("holding session 4 before it starts: %d %s, want 409", status, raw)
	}
	if status, raw := d.try(t, "scheduling", "POST", "/v1/sessions/"+next.ID+"/attendance", coord,
		[]map[string]string{{"person_id": s.members[0], "status": "attended"}}); status != http.StatusConflict {
		t.Fatalf("attendance of session 4 before it starts: %d %s, want 409", status, raw)
	}
	// Turnout falls from everyone to four of six.
	absentees := [][]string{{}, {"apologies"}, {"apologies", "absent"}}
	for i, ss := range s.sessions[:3] {
		h := heldSession{id: ss.ID}
		var records []map[string]string
		for j, p := range s.members {
			status := "attended"
			if k := len(s.members) - 1 - j; k < len(absentees[i]) {
				status = absentees[i][k]
			}
			switch status {
			case "attended":
				h.attended++
			case "apologies":
				h.apologies++
			default:
				h.absent++
			}
			records = append(records, map[string]string{"person_id": p, "status": status})
		}
		var rec struct{ Attended, Apologies, Absent int }
		d.call(t, "scheduling", "POST", "/v1/sessions/"+ss.ID+"/attendance", coord, records, &rec, http.StatusOK)
		if rec.Attended != h.attended || rec.Apologies != h.apologies || rec.Absent != h.absent {
			t.Fatalf("session %d attendance: %+v, want %+v", ss.Number, rec, h)
		}
		var held sessionView
		d.call(t, "scheduling", "POST", "/v1/sessions/"+ss.ID+"/held", coord, map[string]any{
			"notes": fmt.Sprintf("Session %d: shared, discussed, applied.", ss.Number), "outcomes": []string{"A practice to try"},
		}, &held, http.StatusOK)
		if held.Status != "held" {
			t.Fatalf("session %d after held: %+v", ss.Number, held)
		}
		s.held = append(s.held, h)
	}
	if status, raw := d.try(t, "scheduling", "POST", "/v1/sessions/"+s.held[0].id+"/held", coord, map[string]any{}); status != http.StatusConflict {
		t.Fatalf("holding session 1 twice: %d %s, want 409", status, raw)
	}

	var part struct {
		Sessions []struct {
			SessionID string `json:"session_id"`
			Attended  int    `json:"attended"`
			Members   int    `json:"members"`
		} `json:"sessions"`
	}
	d.call(t, "scheduling", "GET", "/v1/cops/"+s.copID+"/participation", coord, nil, &part, http.StatusOK)
	if len(part.Sessions) != len(s.held) {
		t.Fatalf("participation: %+v, want %d held sessions", part, len(s.held))
	}
	for i, p := range part.Sessions {
		if p.SessionID != s.held[i].id || p.Attended != s.held[i].attended || p.Members != len(s.members) {
			t.Errorf("participation of session %d: %+v, want %d of %d attended", i+1, p, s.held[i].attended, len(s.members))
		}
	}
	d.eventsStored(t, map[string]uint64{
		subject("scheduling", "attendance_recorded"): 3,
		subject("scheduling", "session_held"):        3,
		subject("scheduling", "checkin_due"):         1, // the program asked for one after session 3
	})
	var last struct {
		SessionID string `json:"session_id"`
		CoPID     string `json:"cop_id"`
		Number    int    `json:"number"`
	}
	d.lastEvent(t, subject("scheduling", "session_held"), &last)
	if last.SessionID != s.held[2].id || last.CoPID != s.copID || last.Number != 3 {
		t.Fatalf("last session_held: %+v", last)
	}
}

// pollView is a poll as feedback's API shows it.
type pollView struct {
	ID           string `json:"id"`
	CoPID        string `json:"cop_id"`
	SessionID    string `json:"session_id"`
	Kind         string `json:"kind"`
	Audience     string `json:"audience"`
	MinResponses int    `json:"min_responses"`
	Status       string `json:"status"`
	Questions    []struct {
		Key string `json:"key"`
	} `json:"questions"`
}

// resultsView is a poll's results as feedback's API shows them.
type resultsView struct {
	PollID    string `json:"poll_id"`
	Status    string `json:"status"`
	Withheld  bool   `json:"withheld"`
	Reason    string `json:"reason"`
	Responses int    `json:"responses"`
	Questions []struct {
		Key   string   `json:"key"`
		Mean  *float64 `json:"mean"`
		Words []struct {
			Word  string `json:"word"`
			Count int    `json:"count"`
		} `json:"words"`
	} `json:"questions"`
}

// evaluation waits for the evaluation feedback opened when the session was held.
func (d *deployment) evaluation(t *testing.T, s *scenario, session string) pollView {
	t.Helper()
	var ev struct {
		Poll    pollView    `json:"poll"`
		Results resultsView `json:"results"`
	}
	d.await(t, "feedback", "GET", "/v1/sessions/"+session+"/evaluation", d.coordinator(t, s), nil, &ev, http.StatusOK)
	p := ev.Poll
	if p.CoPID != s.copID || p.SessionID != session || p.Kind != "evaluation" || p.Audience != "members" ||
		p.Status != "open" || len(p.Questions) != 3 || !ev.Results.Withheld || ev.Results.Reason != "until_closed" {
		t.Fatalf("evaluation of session %s: %+v", session, ev)
	}
	return p
}

// answer has a member take their ballot and answer the evaluation with it.
func (d *deployment) answer(t *testing.T, poll, person string, answer map[string]any) string {
	t.Helper()
	var b struct{ Ballot string }
	d.await(t, "feedback", "POST", "/v1/polls/"+poll+"/ballots", d.member(t, person), map[string]any{}, &b, http.StatusCreated)
	if b.Ballot == "" {
		t.Fatal("empty ballot")
	}
	if status, raw := d.anonymous(t, "feedback", "/v1/polls/"+poll+"/responses", map[string]any{"ballot": b.Ballot, "answer": answer}); status != http.StatusCreated {
		t.Fatalf("answer with a ballot: %d %s", status, raw)
	}
	return b.Ballot
}

// anonymous posts body without a token: an answer carries its ballot and nothing that
// says who sent it.
func (d *deployment) anonymous(t *testing.T, service, path string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Post(d.services[service].url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s POST %s: %v", service, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// evaluationAnswered: feedback opened an evaluation when each session was held. All six
// members answer session 1's; its results stay hidden while it is open, and are published
// when the coordinator closes it. Only two answer session 2's: below the minimum of five,
// its results are withheld even once closed.
func evaluationAnswered(t *testing.T, d *deployment, s *scenario) {
	if len(s.held) < 2 {
		t.Fatalf("the scenario needs two held sessions, has %d", len(s.held))
	}
	coord := d.coordinator(t, s)
	first := d.evaluation(t, s, s.held[0].id)
	if first.MinResponses != 5 || len(s.members) < first.MinResponses {
		t.Fatalf("evaluation needs %d responses; the CoP has %d members", first.MinResponses, len(s.members))
	}
	confidence := []int{4, 5, 3, 4, 5, 4}
	words := []string{"reflective practice", "peer support", "Peer support", "co-design", "peer support", "yarning circles"}
	var ballot string
	for i, p := range s.members {
		ballot = d.answer(t, first.ID, p, map[string]any{"confidence": confidence[i], "usefulness": 5 - i%2, "takeaway": words[i]})
	}
	// One ballot per member, one answer per ballot.
	if status, raw := d.try(t, "feedback", "POST", "/v1/polls/"+first.ID+"/ballots", d.member(t, s.members[0]), map[string]any{}); status != http.StatusConflict {
		t.Fatalf("a second ballot: %d %s, want 409", status, raw)
	}
	if status, raw := d.anonymous(t, "feedback", "/v1/polls/"+first.ID+"/responses",
		map[string]any{"ballot": ballot, "answer": map[string]any{"confidence": 1, "usefulness": 1, "takeaway": "again"}}); status != http.StatusConflict {
		t.Fatalf("a ballot used twice: %d %s, want 409", status, raw)
	}
	var res resultsView
	d.call(t, "feedback", "GET", "/v1/polls/"+first.ID+"/results", d.member(t, s.members[2]), nil, &res, http.StatusOK)
	if !res.Withheld || res.Reason != "until_closed" || res.Responses != 0 || len(res.Questions) != 0 {
		t.Fatalf("results of an open members' poll: %+v, want withheld until closed", res)
	}
	var closed pollView
	d.call(t, "feedback", "POST", "/v1/polls/"+first.ID+"/close", coord, map[string]any{}, &closed, http.StatusOK)
	if closed.Status != "closed" {
		t.Fatalf("closed evaluation: %+v", closed)
	}
	res = resultsView{}
	d.call(t, "feedback", "GET", "/v1/polls/"+first.ID+"/results", d.member(t, s.members[2]), nil, &res, http.StatusOK)
	sum := 0
	for _, c := range confidence {
		sum += c
	}
	want := float64(sum) / float64(len(confidence))
	if res.Withheld || res.Responses != len(s.members) || len(res.Questions) != 3 || res.Questions[0].Key != "confidence" ||
		res.Questions[0].Mean == nil || math.Abs(*res.Questions[0].Mean-want) > 0.01 {
		t.Fatalf("published results: %+v, want %d responses, mean confidence %.2f", res, len(s.members), want)
	}
	if w := res.Questions[2].Words; len(w) == 0 || w[0].Word != "peer support" || w[0].Count != 3 {
		t.Errorf("takeaway words: %+v, want \"peer support\" first with 3", w)
	}
	s.confidence = res.Questions[0].Mean

	second := d.evaluation(t, s, s.held[1].id)
	for i, p := range s.members[:2] {
		d.answer(t, second.ID, p, map[string]any{"confidence": 2 + i, "usefulness": 3, "takeaway": "too short"})
	}
	d.call(t, "feedback", "POST", "/v1/polls/"+second.ID+"/close", coord, map[string]any{}, &closed, http.StatusOK)
	var few resultsView
	d.call(t, "feedback", "GET", "/v1/polls/"+second.ID+"/results", coord, nil, &few, http.StatusOK)
	if !few.Withheld || few.Reason != "below_minimum" || few.Responses != 0 || len(few.Questions) != 0 {
		t.Fatalf("results of a closed poll with 2 of 5 responses: %+v, want withheld below the minimum", few)
	}

	// Evaluations for the three held sessions and the check-in after session 3.
	d.eventsStored(t, map[string]uint64{
		subject("feedback", "poll_opened"):       uint64(len(s.held)) + 1,
		subject("feedback", "poll_closed"):       2,
		subject("feedback", "results_published"): 1,
	})
	if n := d.storedCount(t, subject("feedback", "results_published")); n != 1 {
		t.Fatalf("%d results_published events, want 1 (the withheld evaluation publishes none)", n)
	}
	var pub struct {
		PollID    string `json:"poll_id"`
		CoPID     string `json:"cop_id"`
		Region    string `json:"region"`
		SessionID string `json:"session_id"`
		Purpose   string `json:"purpose"`
		Responses int    `json:"responses"`
	}
	d.lastEvent(t, subject("feedback", "results_published"), &pub)
	if pub.PollID != first.ID || pub.CoPID != s.copID || pub.Region != s.region || pub.SessionID != s.held[0].id ||
		pub.Purpose != "evaluation" || pub.Responses != len(s.members) {
		t.Fatalf("results_published: %+v", pub)
	}
}

// overlapDetected: a second region's hub onboards a CoP working across the Albury-Wodonga
// border; it and the Victorian CoP each map a project asking young people in Wodonga at
// the same time. Knowledge flags the community-fatigue overlap across the two regions.
func overlapDetected(t *testing.T, d *deployment, s *scenario) {
	national := d.national(t)
	const region = "nsw"
	d.call(t, "registry", "POST", "/v1/regions", national, map[string]any{"id": region, "name": "New South Wales"}, nil, http.StatusCreated)
	s.regions = append(s.regions, region)
	hub := d.hub(t, region)
	var cop struct{ ID, Status string }
	d.call(t, "registry", "POST", "/v1/cops", hub, map[string]any{
		"name": "Border youth wellbeing", "region": region, "scope": "regional",
		"purpose": "Youth services on both sides of the border working together.", "topics": []string{"youth", "sport"},
		"host_organisations": []string{"Albury Youth Services"},
		"meeting":            map[string]any{"frequency": "monthly", "duration_minutes": 60, "format": []string{"share", "discuss"}},
	}, &cop, http.StatusCreated)
	d.call(t, "registry", "POST", "/v1/cops/"+cop.ID+"/decision", national, map[string]any{"decision": "approve"}, &cop, http.StatusOK)
	if cop.Status != "approved" {
		t.Fatalf("border CoP after approval: %+v", cop)
	}
	s.cops = append(s.cops, cop.ID)

	today := time.Now().UTC()
	day := func(n int) string { return today.AddDate(0, 0, n).Format(time.DateOnly) }
	type project struct {
		ID     string `json:"id"`
		CoPID  string `json:"cop_id"`
		Region string `json:"region"`
	}
	var a, b project
	// Knowledge knows each CoP once registry's cop_approved reached it.
	d.await(t, "knowledge", "POST", "/v1/projects", d.coordinator(t, s), map[string]any{
		"cop_id": s.copID, "title": "Youth mental health check-ins", "organisation": "Community Health",
		"topics": []string{"youth", "mental-health"}, "methods": []string{"survey"},
		"communities": []map[string]string{{"place": "au.vic.wodonga", "group": "young people"}},
		"starts_on":   day(14), "ends_on": day(60),
	}, &a, http.StatusCreated)
	d.await(t, "knowledge", "POST", "/v1/projects", hub, map[string]any{
		"cop_id": cop.ID, "title": "Sport and wellbeing listening tour", "organisation": "Albury Youth Services",
		"topics": []string{"youth", "sport"}, "methods": []string{"focus groups"},
		"communities": []map[string]string{
			{"place": "au.nsw.albury", "group": "young people"}, {"place": "au.vic.wodonga", "group": "Young People"},
		},
		"starts_on": day(30), "ends_on": day(90),
	}, &b, http.StatusCreated)
	if a.Region != s.region || b.Region != region {
		t.Fatalf("mapped projects: %+v %+v", a, b)
	}

	type overlap struct {
		ID         string   `json:"id"`
		Kind       string   `json:"kind"`
		ProjectIDs []string `json:"project_ids"`
		CoPIDs     []string `json:"cop_ids"`
		Regions    []string `json:"regions"`
		Status     string   `json:"status"`
	}
	var found struct{ Overlaps []overlap }
	testkit.Eventually(t, eventTimeout, func() error {
		d.call(t, "knowledge", "GET", "/v1/overlaps", national, nil, &found, http.StatusOK)
		if len(found.Overlaps) == 0 {
			return fmt.Errorf("no overlap detected yet")
		}
		return nil
	})
	// The second project's event found the first; the first found nothing: one overlap.
	if len(found.Overlaps) != 1 {
		t.Fatalf("overlaps: %+v, want one", found.Overlaps)
	}
	o := found.Overlaps[0]
	pair, cops := []string{a.ID, b.ID}, []string{s.copID, cop.ID}
	slices.Sort(pair)
	slices.Sort(cops)
	if o.Kind != "fatigue" || !slices.Equal(o.ProjectIDs, pair) || !slices.Equal(o.CoPIDs, cops) ||
		!slices.Equal(o.Regions, []string{region, s.region}) || o.Status != "open" {
		t.Fatalf("overlap: %+v, want open fatigue of projects %v, CoPs %v, regions [%s %s]", o, pair, cops, region, s.region)
	}
	// Each region's hub sees the overlap touching it.
	var hubs struct{ Overlaps []overlap }
	d.call(t, "knowledge", "GET", "/v1/overlaps", d.hub(t, s.region), nil, &hubs, http.StatusOK)
	if len(hubs.Overlaps) != 1 || hubs.Overlaps[0].ID != o.ID {
		t.Fatalf("Victoria's hub sees overlaps %+v, want %s", hubs.Overlaps, o.ID)
	}
	s.overlaps = append(s.overlaps, o.ID)

	d.eventsStored(t, map[string]uint64{
		subject("knowledge", "project_mapped"):   2,
		subject("knowledge", "overlap_detected"): 1,
	})
	if n := d.storedCount(t, subject("knowledge", "overlap_detected")); n != 1 {
		t.Fatalf("%d overlap_detected events, want 1", n)
	}
	var ev struct {
		OverlapID string   `json:"overlap_id"`
		Kind      string   `json:"kind"`
		Regions   []string `json:"regions"`
	}
	d.lastEvent(t, subject("knowledge", "overlap_detected"), &ev)
	if ev.OverlapID != o.ID || ev.Kind != "fatigue" || !slices.Equal(ev.Regions, o.Regions) {
		t.Fatalf("overlap_detected: %+v, want %+v", ev, o)
	}
}

// network is the console's summary as GET /v1/network/summary shows it.
type network struct {
	Totals struct {
		CoPs             int `json:"cops"`
		Members          int `json:"members"`
		SessionsHeld90d  int `json:"sessions_held_90d"`
		AwaitingDecision int `json:"awaiting_decision"`
		OpenOverlaps     int `json:"open_overlaps"`
	} `json:"totals"`
	Regions []struct {
		ID              string         `json:"id"`
		CoPs            int            `json:"cops"`
		CoPsByStatus    map[string]int `json:"cops_by_status"`
		Members         int            `json:"members"`
		SessionsHeld90d int            `json:"sessions_held_90d"`
		AttendanceTrend []float64      `json:"attendance_trend"`
		ConfidenceTrend []float64      `json:"confidence_trend"`
	} `json:"regions"`
	Overlaps []struct {
		ID          string   `json:"id"`
		Kind        string   `json:"kind"`
		Regions     []string `json:"regions"`
		CrossRegion bool     `json:"cross_region"`
	} `json:"overlaps"`
}

// consoleFigures: the console's national figures, built only from the events above, add
// up to what the scenario created: its regions, CoPs, members, held sessions with their
// attendance, the published evaluation's confidence, and the open overlap. A hub sees its
// own region only.
func consoleFigures(t *testing.T, d *deployment, s *scenario) {
	regions := slices.Sorted(slices.Values(s.regions))
	var attendance []float64
	for _, h := range s.held {
		attendance = append(attendance, math.Round(h.rate()*1000)/1000)
	}
	confidence := []float64{}
	if s.confidence != nil {
		confidence = append(confidence, math.Round(*s.confidence*100)/100)
	}
	check := func(n network) error {
		var ids []string
		for _, r := range n.Regions {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, regions) {
			return fmt.Errorf("regions %v, want %v", ids, regions)
		}
		tot := n.Totals
		if tot.CoPs != len(s.cops) || tot.Members != len(s.members) || tot.SessionsHeld90d != len(s.held) ||
			tot.AwaitingDecision != 0 || tot.OpenOverlaps != len(s.overlaps) {
			return fmt.Errorf("totals %+v, want %d CoPs, %d members, %d sessions held, none awaiting, %d open overlaps",
				tot, len(s.cops), len(s.members), len(s.held), len(s.overlaps))
		}
		for _, r := range n.Regions {
			if r.ID != s.region {
				continue
			}
			// The CoP held sessions in the last 90 days: the console counts it active.
			if r.CoPs != 1 || r.CoPsByStatus["active"] != 1 || r.Members != len(s.members) || r.SessionsHeld90d != len(s.held) {
				return fmt.Errorf("region %s: %+v", r.ID, r)
			}
			if !slices.Equal(r.AttendanceTrend, attendance) || !slices.Equal(r.ConfidenceTrend, confidence) {
				return fmt.Errorf("region %s trends: attendance %v, confidence %v; want %v and %v",
					r.ID, r.AttendanceTrend, r.ConfidenceTrend, attendance, confidence)
			}
		}
		var overlaps []string
		for _, o := range n.Overlaps {
			overlaps = append(overlaps, o.ID)
			if !o.CrossRegion || len(o.Regions) != 2 {
				return fmt.Errorf("overlap %+v, want it across two regions", o)
			}
		}
		if !slices.Equal(overlaps, s.overlaps) {
			return fmt.Errorf("overlaps %v, want %v", overlaps, s.overlaps)
		}
		return nil
	}
	national := d.national(t)
	var n network
	testkit.Eventually(t, eventTimeout, func() error {
		n = network{}
		d.call(t, "console", "GET", "/v1/network/summary", national, nil, &n, http.StatusOK)
		return check(n)
	})

	// Victoria's hub sees Victoria only.
	var vic network
	d.call(t, "console", "GET", "/v1/network/summary", d.hub(t, s.region), nil, &vic, http.StatusOK)
	if len(vic.Regions) != 1 || vic.Regions[0].ID != s.region || vic.Totals.Members != len(s.members) || vic.Totals.CoPs != 1 {
		t.Fatalf("Victoria's hub's summary: %+v", vic)
	}
	// Members have no network view.
	if status, raw := d.try(t, "console", "GET", "/v1/network/summary", d.member(t, s.members[0]), nil); status != http.StatusForbidden {
		t.Fatalf("a member reading the network summary: %d %s, want 403", status, raw)
	}
}

// notificationSettings: a member sets a weekly digest for session reminders with notify,
// in its own process, under a token membership issued, and reads it back.
func notificationSettings(t *testing.T, d *deployment, s *scenario) {
	token := d.member(t, s.members[0])
	d.await(t, "notify", "PUT", "/v1/me/notifications", token,
		map[string]any{"preferences": map[string]string{"session_reminder": "weekly"}}, nil, http.StatusOK)
	var got struct {
		Preferences []struct{ Kind, Cadence string }
	}
	d.await(t, "notify", "GET", "/v1/me/notifications", token, nil, &got, http.StatusOK)
	for _, p := range got.Preferences {
		if p.Kind == "session_reminder" && p.Cadence != "weekly" {
			t.Fatalf("session reminders %q after choosing weekly", p.Cadence)
		}
	}
}
