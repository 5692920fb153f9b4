package scheduling_test

// Tests of the defects found by the security probe (issue 13) and the standards check
// (issue 14): each carries out the attack or the fault and fails without its fix.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// countRows counts rows naming person anywhere scheduling keeps a person id.
func (e *env) countRows(person string) int {
	e.t.Helper()
	var n int
	if err := e.n.Pool("scheduling").QueryRow(e.t.Context(), `SELECT
		(SELECT count(*) FROM members WHERE person_id = $1) + (SELECT count(*) FROM roster_changes WHERE person_id = $1) +
		(SELECT count(*) FROM rotation WHERE person_id = $1) + (SELECT count(*) FROM attendance WHERE person_id = $1)`,
		person).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// Membership events about an erased person that arrive after person_erased (a leave, a
// removal, a join: each reaches its own consumer, in any order) must not write their id
// back: erasure is checked before every write of a person id.
func TestLateMembershipEventsDoNotReviveAnErasedPerson(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	e.join("c1", "p1", "p2", "p3", "p4")
	e.n.Publish(t, events.PersonErased{PersonID: "p1"})
	e.await(func() error {
		if n := e.countRows("p1"); n != 0 {
			return fmt.Errorf("%d rows still name p1", n)
		}
		return nil
	})
	// The bad order: the membership events of p1 come after the erasure. Each is followed
	// on the same consumer by one about another person, so once that one shows, p1's has
	// been processed.
	e.n.Publish(t,
		events.MemberLeft{CoPID: "c1", Region: "vic", PersonID: "p1", Reason: "left"},
		events.MemberLeft{CoPID: "c1", Region: "vic", PersonID: "p2", Reason: "left"},
		events.RemovalCarried{RemovalID: "r1", CoPID: "c1", PersonID: "p1", SupportingVotes: 3, WorkingGroupSize: 3},
		events.RemovalCarried{RemovalID: "r2", CoPID: "c1", PersonID: "p3", SupportingVotes: 3, WorkingGroupSize: 3},
		events.MemberJoined{CoPID: "c1", Region: "vic", PersonID: "p1", CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: "c1", Region: "vic", PersonID: "p5", CodeOfPracticeVersion: 1},
	)
	e.join("c1", "p5")
	e.await(func() error {
		for _, p := range []string{"p2", "p3"} {
			if st, _ := e.n.Do(t, "GET", "/v1/cops/c1/sessions", e.member(p), nil); st != http.StatusForbidden {
				return fmt.Errorf("%s is still a member (%d)", p, st)
			}
		}
		return nil
	})
	if n := e.countRows("p1"); n != 0 {
		t.Errorf("late membership events wrote p1 back into %d rows", n)
	}
	// Nor can a coordinator record the erased id as attending.
	p := e.plan("c1", "2026-03-03T18:00", 1)
	e.clock.Set(p.Sessions[0].StartsAt.Add(time.Hour))
	st, raw := e.n.Do(t, "POST", "/v1/sessions/"+p.Sessions[0].ID+"/attendance", e.coordinator("c1"),
		[]map[string]any{{"person_id": "p4", "status": "attended"}, {"person_id": "p1", "status": "attended"}})
	if st != http.StatusUnprocessableEntity || !field(raw, "[1].person_id") {
		t.Errorf("attendance naming the erased p1 → %d %s, want 422 naming [1].person_id", st, raw)
	}
	if n := e.countRows("p1"); n != 0 {
		t.Errorf("attendance wrote p1 back into %d rows", n)
	}
}

// linkWithHeaders asks for a person's feed link with extra request headers.
func (e *env) linkWithHeaders(person string, headers map[string]string) (url, webcal string) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.n.URL+"/v1/people/"+person+"/calendar-link", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.member(person))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if host, ok := headers["Host"]; ok {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("calendar-link → %d %s", resp.StatusCode, raw)
	}
	var out struct{ URL, Webcal string }
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatal(err)
	}
	return out.URL, out.Webcal
}

// A client that forges X-Forwarded-Host/-Proto (or Host) must not make copnet hand out a
// feed link to the attacker's server: the link comes from the configured public URL, or
// the node's own address when none is configured.
func TestCalendarLinkIgnoresForgedHostHeaders(t *testing.T) {
	forged := map[string]string{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "Host": "evil.example"}

	e := start(t, march1)
	e.approve("c1", "vic")
	e.join("c1", "p1")
	url, webcal := e.linkWithHeaders("p1", forged)
	if !strings.HasPrefix(url, e.n.URL+"/v1/people/p1/calendar.ics?key=") || strings.Contains(url+webcal, "evil") {
		t.Errorf("link %q (webcal %q) does not point at the node %s", url, webcal, e.n.URL)
	}

	configured := startWith(t, march1, testkit.NodeOptions{PublicURL: "https://cop.example.org/network"})
	configured.approve("c1", "vic")
	configured.join("c1", "p1")
	url, webcal = configured.linkWithHeaders("p1", forged)
	if !strings.HasPrefix(url, "https://cop.example.org/network/v1/people/p1/calendar.ics?key=") ||
		!strings.HasPrefix(webcal, "webcal://cop.example.org/network/v1/people/p1/calendar.ics?key=") {
		t.Errorf("link %q, webcal %q: want them under the configured https://cop.example.org/network", url, webcal)
	}
}

// The feed is named after the CoP, each event after its CoP, program and session, with
// the CoP as ORGANIZER; text from the database, even with raw control characters written
// before input was validated, cannot break out of its property. Checked with an
// independent parser (golang-ical) and on the raw bytes.
func TestCalendarFeedIsNamedEscapedAndOrganized(t *testing.T) {
	e := start(t, march1)
	e.n.Publish(t, events.CoPProposed{CoPID: "c1", Region: "vic", Name: "Youth mental health", Scope: "local",
		Topics: []string{"youth"}, HostOrganisations: []string{"Headspace"}, Stage: "potential"})
	e.approve("c1", "vic")
	e.approve("c2", "vic")
	e.join("c1", "p1")
	body := programBody("2026-03-03T18:00", 7)
	body["title"] = "Share/Discuss/Apply"
	var p program
	e.must(http.StatusCreated, &p, "POST", "/v1/cops/c1/programs", e.national(), body)

	// Input with control characters is refused, naming the field.
	for _, bad := range []map[string]any{{"location": "Hall\x07"}, {"location": "Hall\r\nBEGIN:VEVENT"}, {"topic": "a\nb"}, {"topic": "nul\x00"}} {
		st, raw := e.n.Do(t, "PUT", "/v1/sessions/"+p.Sessions[0].ID, e.coordinator("c1"), bad)
		for f := range bad {
			if st != http.StatusBadRequest || !field(raw, f) {
				t.Errorf("PUT %q → %d %s, want 400 naming %s", bad, st, raw, f)
			}
		}
	}
	e.must(http.StatusOK, nil, "PUT", "/v1/sessions/"+p.Sessions[2].ID, e.coordinator("c1"),
		map[string]any{"topic": "Mentoring, reflective; practice", "location": `Room 1\Level 2`})
	// Rows written before validation existed, or by any other path, are escaped anyway.
	if _, err := e.n.Pool("scheduling").Exec(t.Context(), `UPDATE sessions SET location = $2, topic = $3 WHERE id = $1`,
		p.Sessions[1].ID, "Hall\x07 A\r\nBEGIN:VEVENT\r\nSUMMARY:forged", strings.Repeat("ü", 60)+"\x1b[31m"); err != nil {
		t.Fatal(err)
	}

	var link struct{ Path string }
	e.must(http.StatusCreated, &link, "POST", "/v1/cops/c1/calendar-link", e.coordinator("c1"), nil)
	st, raw := e.n.Do(t, "GET", link.Path, "", nil)
	if st != http.StatusOK {
		t.Fatalf("feed → %d %s", st, raw)
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d is %d octets: %q", i+1, len(line), line)
		}
		if strings.IndexFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) >= 0 {
			t.Errorf("line %d carries a control character: %q", i+1, line)
		}
	}
	cal, err := ics.ParseCalendar(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("parse feed: %v\n%s", err, raw)
	}
	props := map[string]string{}
	for _, cp := range cal.CalendarProperties {
		props[cp.IANAToken] = cp.Value
	}
	if props["X-WR-CALNAME"] != "Youth mental health" || props["METHOD"] != "PUBLISH" {
		t.Errorf("calendar properties %v: want X-WR-CALNAME Youth mental health, METHOD PUBLISH", props)
	}
	evs := cal.Events()
	if len(evs) != 7 {
		t.Fatalf("feed has %d events, want 7 (an injected BEGIN:VEVENT must stay text)", len(evs))
	}
	byID := map[string]*ics.VEvent{}
	for _, ev := range evs {
		byID[ev.Id()] = ev
		org := ev.GetProperty(ics.ComponentPropertyOrganizer)
		if org == nil || org.Value != "mailto:no-reply@national.copnet.invalid" || len(org.ICalParameters["CN"]) != 1 || org.ICalParameters["CN"][0] != "Youth mental health" {
			t.Errorf("event %s ORGANIZER %+v", ev.Id(), org)
		}
	}
	value := func(n int, prop ics.ComponentProperty) string {
		ev := byID[p.Sessions[n].ID+"@copnet"]
		if ev == nil || ev.GetProperty(prop) == nil {
			t.Fatalf("session %d has no %s", n+1, prop)
		}
		return ev.GetProperty(prop).Value
	}
	if got := value(0, ics.ComponentPropertySummary); got != "Youth mental health — Share/Discuss/Apply 1 of 7" {
		t.Errorf("session 1 SUMMARY %q", got)
	}
	if got := value(2, ics.ComponentPropertySummary); got != "Youth mental health — Share/Discuss/Apply 3 of 7: Mentoring, reflective; practice" {
		t.Errorf("session 3 SUMMARY %q", got)
	}
	if got := value(2, ics.ComponentPropertyLocation); got != `Room 1\Level 2` {
		t.Errorf("session 3 LOCATION %q", got)
	}
	if got := value(1, ics.ComponentPropertyLocation); got != "Hall A\nBEGIN:VEVENT\nSUMMARY:forged" {
		t.Errorf("session 2 LOCATION %q: want the bell dropped and the line breaks kept as text", got)
	}
	if got := value(1, ics.ComponentPropertySummary); !strings.HasSuffix(got, strings.Repeat("ü", 60)+"[31m") {
		t.Errorf("session 2 SUMMARY %q: want the long topic folded whole and the escape character dropped", got)
	}

	// A CoP whose name scheduling has not heard is named by its id.
	st, raw = e.n.Do(t, "GET", "/v1/cops/c2/calendar.ics", e.national(), nil)
	if st != http.StatusOK || !strings.Contains(string(raw), "\r\nX-WR-CALNAME:c2\r\n") {
		t.Errorf("c2 feed → %d %s", st, raw)
	}
}

// Session times are bounded to what a CoP can mean: a start in year 9999 used to end in
// year 10000 and answer 500; 1900 and a cadence every second were accepted.
func TestSessionsAndCadencesAreBoundedTo400s(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	p := e.plan("c1", "2026-03-03T18:00", 1)
	for _, at := range []string{"9999-12-31T23:59:59Z", "1900-01-01T18:00", "1999-12-31T12:00:00+11:00", "2036-03-02T18:00", "0001-01-01T00:00:00Z"} {
		st, raw := e.n.Do(t, "PUT", "/v1/sessions/"+p.Sessions[0].ID, e.coordinator("c1"), map[string]any{"starts_at": at})
		if st != http.StatusBadRequest || !field(raw, "starts_at") {
			t.Errorf("starts_at %s → %d %s, want 400 naming starts_at", at, st, raw)
		}
	}
	e.must(http.StatusOK, nil, "PUT", "/v1/sessions/"+p.Sessions[0].ID, e.coordinator("c1"), map[string]any{"starts_at": "2035-06-03T18:00"})

	program := func(change map[string]any) (int, []byte) {
		body := programBody("2026-03-03T18:00", 3)
		for k, v := range change {
			body[k] = v
		}
		return e.n.Do(t, "POST", "/v1/cops/c1/programs", e.national(), body)
	}
	for _, c := range []struct {
		change map[string]any
		field  string
	}{
		{map[string]any{"first_session_at": "1900-01-02T18:00", "cadence": "FREQ=WEEKLY"}, "first_session_at"},
		{map[string]any{"first_session_at": "9999-12-28T18:00", "cadence": "FREQ=WEEKLY"}, "first_session_at"},
		{map[string]any{"cadence": "FREQ=WEEKLY;INTERVAL=0;BYDAY=TU"}, "cadence"},
		{map[string]any{"cadence": "FREQ=SECONDLY"}, "cadence"},
		{map[string]any{"cadence": "FREQ=MINUTELY"}, "cadence"},
		{map[string]any{"cadence": "FREQ=HOURLY"}, "cadence"},
		{map[string]any{"cadence": "FREQ=WEEKLY;COUNT=2147483647"}, "cadence"},
		{map[string]any{"cadence": "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11"}, "cadence"},
		{map[string]any{"cadence": "FREQ=YEARLY", "first_session_at": "2026-03-03T18:00", "sessions": 20}, "cadence"},
		{map[string]any{"timezone": "Mars/Olympus"}, "timezone"},
		{map[string]any{"timezone": "Local"}, "timezone"},
	} {
		st, raw := program(c.change)
		if st != http.StatusBadRequest || !field(raw, c.field) {
			t.Errorf("program %v → %d %s, want 400 naming %s", c.change, st, raw, c.field)
		}
	}
}

// Local times on a daylight-saving edge resolve per RFC 5545 section 3.3.5, in planning
// and in rescheduling alike: a repeated 02:30 is the first one, a skipped 02:30 is 03:30.
func TestDSTEdgesResolveInPlanningAndRescheduling(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	for _, c := range []struct {
		zone, repeated, firstUTC, skipped, skippedUTC, skippedLocal string
	}{
		{"Australia/Melbourne", "2027-04-04T02:30", "2027-04-03T15:30:00Z", "2027-10-03T02:30", "2027-10-02T16:30:00Z", "2027-10-03T03:30:00"},
		{"Pacific/Auckland", "2027-04-04T02:30", "2027-04-03T13:30:00Z", "2027-09-26T02:30", "2027-09-25T14:30:00Z", "2027-09-26T03:30:00"},
	} {
		body := programBody(c.repeated, 2)
		body["timezone"], body["cadence"] = c.zone, "FREQ=WEEKLY;BYDAY=SU"
		var p program
		e.must(http.StatusCreated, &p, "POST", "/v1/cops/c1/programs", e.national(), body)
		if got := p.Sessions[0].StartsAt.UTC().Format(time.RFC3339); got != c.firstUTC || p.Sessions[0].LocalStart != c.repeated+":00" {
			t.Errorf("%s: planned %s at %s UTC (%s local), want %s", c.zone, c.repeated, got, p.Sessions[0].LocalStart, c.firstUTC)
		}
		var moved session
		e.must(http.StatusOK, &moved, "PUT", "/v1/sessions/"+p.Sessions[1].ID, e.coordinator("c1"), map[string]any{"starts_at": c.skipped})
		if got := moved.StartsAt.UTC().Format(time.RFC3339); got != c.skippedUTC || moved.LocalStart != c.skippedLocal {
			t.Errorf("%s: rescheduled to %s → %s UTC (%s local), want %s (%s)", c.zone, c.skipped, got, moved.LocalStart, c.skippedUTC, c.skippedLocal)
		}
		e.must(http.StatusOK, &moved, "PUT", "/v1/sessions/"+p.Sessions[1].ID, e.coordinator("c1"), map[string]any{"starts_at": c.repeated})
		if got := moved.StartsAt.UTC().Format(time.RFC3339); got != c.firstUTC {
			t.Errorf("%s: rescheduled to %s → %s UTC, want %s", c.zone, c.repeated, got, c.firstUTC)
		}
	}
}

// The attendance rate is members present ÷ members on the roster when the session took
// place (domain.Turnout): joins and leaves after the session do not change it, and
// attendance_recorded carries the same base (members) and the session's own start, so the
// console computes the same figure from the event as scheduling's API shows.
func TestAttendanceRateDividesByTheRosterAtTheSession(t *testing.T) {
	e := start(t, march1)
	e.approve("c1", "vic")
	before := []string{"a1", "a2", "a3", "a4", "a5"}
	for _, p := range before {
		e.publishAt(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), events.MemberJoined{CoPID: "c1", Region: "vic", PersonID: p, CodeOfPracticeVersion: 1})
	}
	e.awaitMembers("c1", before...)
	p := e.plan("c1", "2026-03-03T18:00", 1)
	s := p.Sessions[0]
	// After the session: five more join and a5 leaves.
	after := s.StartsAt.Add(24 * time.Hour)
	for _, q := range []string{"b1", "b2", "b3", "b4", "b5"} {
		e.publishAt(after, events.MemberJoined{CoPID: "c1", Region: "vic", PersonID: q, CodeOfPracticeVersion: 1})
	}
	e.awaitMembers("c1", "b1", "b2", "b3", "b4", "b5")
	e.publishAt(after, events.MemberLeft{CoPID: "c1", Region: "vic", PersonID: "a5", Reason: "left"})
	e.await(func() error {
		if st, _ := e.n.Do(t, "GET", "/v1/cops/c1/sessions", e.member("a5"), nil); st != http.StatusForbidden {
			return fmt.Errorf("a5 is still a member (%d)", st)
		}
		return nil
	})
	e.clock.Set(after.Add(time.Hour))
	e.must(http.StatusOK, nil, "POST", "/v1/sessions/"+s.ID+"/attendance", e.coordinator("c1"), []map[string]any{
		{"person_id": "a1", "status": "attended"}, {"person_id": "a2", "status": "attended"},
		{"person_id": "a3", "status": "attended"}, {"person_id": "a4", "status": "apologies"}})
	e.must(http.StatusOK, nil, "POST", "/v1/sessions/"+s.ID+"/held", e.coordinator("c1"), map[string]any{})

	var part struct {
		Sessions []struct {
			Attended int     `json:"attended"`
			Members  int     `json:"members"`
			Rate     float64 `json:"rate"`
		} `json:"sessions"`
	}
	e.must(http.StatusOK, &part, "GET", "/v1/cops/c1/participation", e.national(), nil)
	// On the roster at 18:00 on 3 March: a1–a5. Present: a1–a3. 3 ÷ 5.
	if len(part.Sessions) != 1 || part.Sessions[0].Members != 5 || part.Sessions[0].Rate != 0.6 {
		t.Fatalf("participation %+v, want members 5 and rate 0.6", part.Sessions)
	}
	e.await(func() error {
		recs := published[events.AttendanceRecorded](e, "attendance_recorded")
		held := published[events.SessionHeld](e, "session_held")
		if len(recs) != 1 || len(held) != 1 {
			return fmt.Errorf("%d attendance_recorded, %d session_held", len(recs), len(held))
		}
		r := recs[0]
		if r.Members != 5 || !r.StartsAt.Equal(s.StartsAt) || float64(r.Attended)/float64(r.Members) != part.Sessions[0].Rate {
			return fmt.Errorf("attendance_recorded %+v: want members 5, starts_at %s, attended/members = the API's rate", r, s.StartsAt)
		}
		if !held[0].StartsAt.Equal(s.StartsAt) {
			return fmt.Errorf("session_held starts_at %s, want %s", held[0].StartsAt, s.StartsAt)
		}
		return nil
	})
}
