package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
)

var t0 = time.Date(2026, 5, 5, 9, 0, 0, 0, time.UTC) // a Tuesday

// setUpCoP makes cop c1 in region vic with members, a coordinator and hub officers of vic and
// of nsw, each with an address, and waits until notify's projection has them.
func setUpCoP(t *testing.T, e *env, members ...string) {
	t.Helper()
	e.publish(t, events.CoPProposed{CoPID: "c1", Region: "vic", Name: "Youth mental health", Scope: "regional", Topics: []string{"youth"}, HostOrganisations: []string{"Headspace"}, Stage: "potential"})
	for _, p := range members {
		e.publish(t, events.MemberJoined{CoPID: "c1", Region: "vic", PersonID: p, CodeOfPracticeVersion: 1})
	}
	e.publish(t,
		events.GrantGiven{PersonID: "coord", Role: "coordinator", CoPID: "c1"},
		events.GrantGiven{PersonID: "hubvic", Role: "hub", Region: "vic"},
		events.GrantGiven{PersonID: "hubnsw", Role: "hub", Region: "nsw"},
	)
	for _, p := range append([]string{"coord", "hubvic", "hubnsw"}, members...) {
		e.contact(t, p, "Person "+p, p+"@example.org")
	}
	e.waitCount(t, 1, `SELECT count(*) FROM cops WHERE cop_id = 'c1' AND name <> ''`)
	e.waitCount(t, len(members), `SELECT count(*) FROM members WHERE cop_id = 'c1'`)
	e.waitCount(t, 1, `SELECT count(*) FROM coordinators WHERE cop_id = 'c1'`)
	e.waitCount(t, 2, `SELECT count(*) FROM hub_officers`)
}

// A session planned for next week reminds each member once, with an invitation a calendar
// library reads back at the session's own times.
func TestReminderPerMemberWithValidInvitation(t *testing.T) {
	e := start(t, t0)
	members := []string{"ana", "bo", "cy"}
	setUpCoP(t, e, members...)
	starts := t0.Add(6 * 24 * time.Hour).Truncate(time.Hour)
	e.publish(t, events.SessionScheduled{SessionID: "s1", ProgramID: "p1", CoPID: "c1", Number: 3, StartsAt: starts,
		EndsAt: starts.Add(90 * time.Minute), Timezone: "Australia/Melbourne", Topic: "Mentoring"})
	for _, p := range members {
		m := e.mp.WaitFor(t, p+"@example.org")
		if !strings.Contains(m.Subject, "Youth mental health") || !strings.Contains(m.Text, "Mentoring") {
			t.Fatalf("reminder to %s: %q\n%s", p, m.Subject, m.Text)
		}
		raw := e.raw(t, m.ID)
		cal, err := ics.ParseCalendar(bytes.NewReader(attachment(t, raw, "text/calendar")))
		if err != nil {
			t.Fatalf("invitation to %s does not parse: %v", p, err)
		}
		evs := cal.Events()
		if len(evs) != 1 {
			t.Fatalf("%d events", len(evs))
		}
		gotStart, err := evs[0].GetStartAt()
		if err != nil {
			t.Fatal(err)
		}
		gotEnd, err := evs[0].GetEndAt()
		if err != nil {
			t.Fatal(err)
		}
		if !gotStart.Equal(starts) || !gotEnd.Equal(starts.Add(90*time.Minute)) {
			t.Fatalf("invitation times %s–%s, want %s–%s", gotStart, gotEnd, starts, starts.Add(90*time.Minute))
		}
		if p := evs[0].GetProperty(ics.ComponentPropertyUniqueId); p == nil || p.Value != "s1@copnet" {
			t.Fatalf("UID %v", p)
		}
		if u := header(t, raw, "List-Unsubscribe"); !strings.Contains(u, "/unsubscribe?token=") {
			t.Fatalf("List-Unsubscribe %q", u)
		}
	}
	// Later sweeps remind nobody again.
	e.waitCount(t, 1, `SELECT count(*) FROM sessions WHERE session_id = 's1' AND reminded_sequence = 0`)
	e.clock.Set(t0.Add(time.Hour))
	e.waitCount(t, 3, `SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL`)
	for _, p := range members {
		if got := e.mp.MessagesTo(t, p+"@example.org"); len(got) != 1 {
			t.Fatalf("%s got %d mails", p, len(got))
		}
	}
	if got := e.mp.MessagesTo(t, "hubnsw@example.org"); len(got) != 0 {
		t.Fatalf("a hub officer of another region got %d mails", len(got))
	}
}

// Declining participation is told to the CoP's coordinator and its region's hub officer,
// and to nobody else: not its members, not another region's hub.
func TestParticipationDecliningMailsCoordinatorsAndHubOnly(t *testing.T) {
	e := start(t, t0)
	setUpCoP(t, e, "ana", "bo")
	e.publish(t, events.ParticipationDeclining{CoPID: "c1", EarlyRate: 0.8, RecentRate: 0.4, Drop: 0.4})
	for _, p := range []string{"coord", "hubvic"} {
		m := e.mp.WaitFor(t, p+"@example.org")
		if !strings.Contains(m.Subject, "Participation is declining in Youth mental health") {
			t.Fatalf("%s: %q", p, m.Subject)
		}
	}
	// The decision is taken in one transaction: once two notices exist, there is no third.
	e.waitCount(t, 2, `SELECT count(*) FROM notices WHERE kind = 'participation'`)
	e.waitCount(t, 2, `SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL`)
	for _, p := range []string{"ana", "bo", "hubnsw"} {
		if got := e.mp.MessagesTo(t, p+"@example.org"); len(got) != 0 {
			t.Fatalf("%s got %d mails", p, len(got))
		}
	}
}

// A person who chose a weekly digest gets no mail when the event happens, and one digest
// holding it once the week is over, however often the sweep runs.
func TestWeeklyDigestInsteadOfImmediateMail(t *testing.T) {
	e := start(t, t0)
	setUpCoP(t, e, "ana")
	coord := e.n.Token(t, httpx.Claims{Subject: "coord", Grants: []httpx.Grant{{Role: httpx.RoleCoordinator, CoP: "c1"}}})
	var prefs struct {
		Preferences []struct{ Kind, Cadence string }
	}
	if code := e.n.JSON(t, "PUT", "/v1/me/notifications", coord, map[string]any{"preferences": map[string]string{"participation": "weekly"}}, &prefs); code != http.StatusOK {
		t.Fatalf("PUT preferences: %d", code)
	}
	e.publish(t, events.ParticipationDeclining{CoPID: "c1", EarlyRate: 0.8, RecentRate: 0.4, Drop: 0.4})
	e.mp.WaitFor(t, "hubvic@example.org") // the hub officer, who chose nothing, is told at once
	e.waitCount(t, 1, `SELECT count(*) FROM notices WHERE person_id = 'coord' AND cadence = 'weekly' AND mailed_at IS NULL`)
	if got := e.mp.MessagesTo(t, "coord@example.org"); len(got) != 0 {
		t.Fatalf("the weekly-digest coordinator got %d immediate mails", len(got))
	}
	// Next Monday the week's digest goes.
	e.clock.Set(time.Date(2026, 5, 11, 7, 0, 0, 0, time.UTC))
	m := e.mp.WaitFor(t, "coord@example.org")
	if !strings.Contains(m.Subject, "weekly copnet digest") || !strings.Contains(m.Text, "Participation is declining in Youth mental health") {
		t.Fatalf("digest: %q\n%s", m.Subject, m.Text)
	}
	e.waitCount(t, 1, `SELECT count(*) FROM notices WHERE person_id = 'coord' AND mailed_at IS NOT NULL`)
	// Sweeps later that week send nothing more.
	e.clock.Set(time.Date(2026, 5, 13, 7, 0, 0, 0, time.UTC))
	e.waitCount(t, 0, `SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL`)
	if got := e.mp.MessagesTo(t, "coord@example.org"); len(got) != 1 {
		t.Fatalf("coordinator got %d mails, want the one digest", len(got))
	}
}

// An unsubscribe link works without signing in, and does one thing: turns off the one
// kind of mail it came with, for the one person it was sent to.
func TestUnsubscribeLinkIsSinglePurpose(t *testing.T) {
	e := start(t, t0)
	setUpCoP(t, e, "ana")
	e.publish(t, events.ParticipationDeclining{CoPID: "c1", EarlyRate: 0.8, RecentRate: 0.4, Drop: 0.4})
	m := e.mp.WaitFor(t, "coord@example.org")
	raw := e.raw(t, m.ID)
	link := strings.Trim(header(t, raw, "List-Unsubscribe"), "<>")
	if header(t, raw, "List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.Contains(m.Text, link) {
		t.Fatalf("List-Unsubscribe %q, footer:\n%s", link, m.Text)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	page := e.n.URL + u.Path + "?" + u.RawQuery
	// GET shows a page and changes nothing (mail scanners follow links).
	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %d", resp.StatusCode)
	}
	e.waitCount(t, 0, `SELECT count(*) FROM preferences`)
	// A token altered to name another kind or person is refused.
	token := u.Query().Get("token")
	parts := strings.Split(token, ".")
	for name, bad := range map[string]string{
		"another kind":   parts[0] + ".c2Vzc2lvbl9yZW1pbmRlcg." + parts[2],
		"another person": "aHVidmlj." + parts[1] + "." + parts[2],
		"cut short":      token[:len(token)-3],
	} {
		resp, err := http.Post(e.n.URL+"/unsubscribe?token="+url.QueryEscape(bad), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: %d", name, resp.StatusCode)
		}
	}
	e.waitCount(t, 0, `SELECT count(*) FROM preferences`)
	// The one-click POST, without any sign-in, turns off that kind for that person only.
	resp, err = http.Post(page, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %d", resp.StatusCode)
	}
	e.waitCount(t, 1, `SELECT count(*) FROM preferences`)
	e.waitCount(t, 1, `SELECT count(*) FROM preferences WHERE person_id = 'coord' AND kind = 'participation' AND cadence = 'off'`)
	// The next such event mails the hub officer, not the coordinator.
	e.publish(t, events.ParticipationDeclining{CoPID: "c1", EarlyRate: 0.7, RecentRate: 0.3, Drop: 0.4})
	e.waitCount(t, 4, `SELECT count(*) FROM notices`)
	e.waitCount(t, 3, `SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL`)
	if got := e.mp.MessagesTo(t, "coord@example.org"); len(got) != 1 {
		t.Fatalf("coordinator got %d mails after unsubscribing", len(got))
	}
	if got := e.mp.MessagesTo(t, "hubvic@example.org"); len(got) != 2 {
		t.Fatalf("hub officer got %d mails", len(got))
	}
}

// After erasure, the person's address is nowhere in notify's schema: every column of every
// table is searched, as a database administrator would.
func TestErasureScrubsTheAddress(t *testing.T) {
	e := start(t, t0)
	setUpCoP(t, e, "ana")
	// Mail sent and mail held for a digest both carry the address or the person.
	coord := e.n.Token(t, httpx.Claims{Subject: "ana", Grants: []httpx.Grant{{Role: httpx.RoleMember, CoP: "c1"}}})
	if code := e.n.JSON(t, "PUT", "/v1/me/notifications", coord, map[string]any{"preferences": map[string]string{"code_of_practice": "daily"}}, nil); code != http.StatusOK {
		t.Fatalf("PUT preferences: %d", code)
	}
	e.publish(t, events.CheckinDue{CoPID: "c1", SessionID: "s1", Number: 3}, events.CharterPublished{CoPID: "c1", Region: "vic", Version: 2})
	e.mp.WaitFor(t, "ana@example.org")
	e.waitCount(t, 2, `SELECT count(*) FROM notices WHERE person_id = 'ana'`)
	if n := occurrences(t, e, "ana@example.org"); n == 0 {
		t.Fatal("the address is not in notify's tables before erasure: the test would prove nothing")
	}
	e.publish(t, events.PersonErased{PersonID: "ana"})
	e.share(t, map[string]any{"person_id": "ana", "erased": true})
	testkit.Eventually(t, 20*time.Second, func() error {
		if n := occurrences(t, e, "ana@example.org") + occurrences(t, e, "Person ana"); n > 0 {
			return fmt.Errorf("%d rows still hold the address or name", n)
		}
		return nil
	})
	e.waitCount(t, 0, `SELECT count(*) FROM notices WHERE person_id = 'ana'`)
	e.waitCount(t, 0, `SELECT count(*) FROM members WHERE person_id = 'ana'`)
}

// occurrences counts the rows of every table in notify's schema whose text holds s.
func occurrences(t *testing.T, e *env, s string) int {
	t.Helper()
	ctx := context.Background()
	pool := e.db
	rows, err := pool.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("only %v tables", tables)
	}
	total := 0
	for _, tbl := range tables {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+tbl+` x WHERE position(lower($1) in lower(x::text)) > 0`, s).Scan(&n); err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		total += n
	}
	return total
}
