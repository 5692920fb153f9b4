package membership_test

// Attacks and faults from issue 13 and 14, each played against a running membership.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// TestASlowImportBlocksNobody: a roster upload that trickles in and stays open does not
// hold the CoP while it is read: a join to the same CoP and a person's record are served
// while the upload is still open, and the import completes once the body does.
func TestASlowImportBlocksNobody(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-a")
	joiner := e.register("Jo Iner", "jo@example.org")

	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", e.n.URL+"/v1/cops/cop-a/members:import", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+e.hub("vic"))
	type result struct {
		status int
		body   []byte
		err    error
	}
	imported := make(chan result, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			imported <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		imported <- result{status: res.StatusCode, body: b, err: err}
	}()
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	// Two writes: the second returns only once the client has sent the first, so the
	// server is reading the body by the time the join is sent.
	for _, chunk := range []string{"name,email\n", "Slow Sam,sam@example.org\n"} {
		if _, err := pw.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}

	// A person's record first: its round trip through authentication and the database
	// also gives the import's handler, whose headers arrived before, time to reach the body.
	var me struct{ Name string }
	e.must(http.StatusOK, &me, e.person(joiner), "GET", "/v1/people/"+joiner, "")
	joined := make(chan *response, 1)
	go func() {
		joined <- e.in(t).do(e.national(), "POST", "/v1/cops/cop-a/members", fmt.Sprintf(`{"person_id":%q,"code_of_practice_version":1}`, joiner))
	}()
	select {
	case r := <-joined:
		if r.status != http.StatusCreated {
			t.Fatalf("join during a slow import: %s", r)
		}
	case r := <-imported:
		t.Fatalf("the import ended before its body did: %+v", r)
	case <-time.After(waitFor):
		t.Fatal("a join to the CoP waited for a slow roster upload")
	}
	e.must(http.StatusOK, &me, e.person(joiner), "GET", "/v1/people/"+joiner, "")

	// The upload finishes: the roster is imported.
	if _, err := pw.Write([]byte("Late Lee,lee@example.org\n")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-imported
	if r.err != nil || r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"invited":2`)) {
		t.Fatalf("import after the body ended: %d %s %v", r.status, r.body, r.err)
	}
	if m := e.members("cop-a"); len(m) != 1 {
		t.Errorf("%d members, want the joiner only (the imported are invited)", len(m))
	}
}

// TestImportNeverJoinsSomeoneWithoutConsent: the hub of vic tries to pull a person who
// registered in wa into its CoP by e-mail. She is invited, not joined: the roster never
// shows her until she accepts the invitation and the CoP's Code of Practice herself.
func TestImportNeverJoinsSomeoneWithoutConsent(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-vic")
	e.approve("wa", "cop-wa")
	wa := e.register("Wendy Westward", "wendy@example.org")
	e.join("cop-wa", wa)

	csv := "name,email\nNew Person,new@example.org\nWendy,WENDY@example.org\n"
	r := e.send(e.hub("vic"), "POST", "/v1/cops/cop-vic/members:import", "text/csv", csv)
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"invited":2`)) {
		t.Fatalf("%s: want both rows invited", r)
	}
	if m := e.members("cop-vic"); len(m) != 0 {
		t.Errorf("roster after an import: %v", m)
	}
	var people int
	if err := e.n.Pool("membership").QueryRow(context.Background(), "SELECT count(*) FROM people").Scan(&people); err != nil || people != 1 {
		t.Errorf("%d people after an import (%v), want only Wendy: the new person registers on arrival", people, err)
	}
	var mine struct {
		Received []struct {
			ID                    string `json:"id"`
			CodeOfPracticeVersion int    `json:"code_of_practice_version"`
		} `json:"received"`
	}
	e.must(http.StatusOK, &mine, e.person(wa), "GET", "/v1/invitations", "")
	if len(mine.Received) != 1 || mine.Received[0].CodeOfPracticeVersion != 1 {
		t.Fatalf("Wendy's invitations: %+v, want one to accept Code of Practice 1", mine.Received)
	}
	// Accepting without the Code of Practice joins nobody.
	if p := e.do(e.person(wa), "POST", "/v1/invitations/"+mine.Received[0].ID+"/accept", `{}`).problem(t, http.StatusUnprocessableEntity); !slices.Equal(p.fields(), []string{"code_of_practice_version"}) {
		t.Errorf("accepting without the Code of Practice: %+v", p)
	}
	if m := e.members("cop-vic"); len(m) != 0 {
		t.Errorf("roster after a refused acceptance: %v", m)
	}
	// Once Wendy accepts, the same file leaves her as is and invites nobody twice.
	e.must(http.StatusOK, nil, e.person(wa), "POST", "/v1/invitations/"+mine.Received[0].ID+"/accept", `{"code_of_practice_version":1}`)
	if _, ok := e.members("cop-vic")[wa]; !ok {
		t.Fatal("Wendy is not a member after accepting")
	}
	r = e.send(e.hub("vic"), "POST", "/v1/cops/cop-vic/members:import", "text/csv", csv)
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"already_members":1`)) || !bytes.Contains(r.body, []byte(`"already_invited":1`)) {
		t.Fatalf("%s", r)
	}
}

// TestAnonymousRegistrationRevealsNoAddress: without a token, registering a taken address
// and a new one get the same answer, byte for byte: status, headers and body, and no id.
// National still learns of the conflict.
func TestAnonymousRegistrationRevealsNoAddress(t *testing.T) {
	e := start(t)
	e.register("Aroha Smith", "aroha@example.org")
	taken := e.do("", "POST", "/v1/people", `{"name":"Probe","email":"AROHA@example.org"}`)
	fresh := e.do("", "POST", "/v1/people", `{"name":"Probe","email":"nobody-yet@example.org"}`)
	if taken.status != fresh.status || !bytes.Equal(taken.body, fresh.body) {
		t.Fatalf("a taken address answers differently:\n%s\n%s", taken, fresh)
	}
	if taken.status != http.StatusAccepted || bytes.Contains(taken.body, []byte(`"id"`)) {
		t.Errorf("%s: want 202 without an id", taken)
	}
	// Headers that differ by design on every response (the date, the correlation id).
	varying := []string{"Date", "X-Correlation-Id"}
	for _, h := range []http.Header{taken.header, fresh.header} {
		for _, k := range varying {
			h.Del(k)
		}
	}
	a, _ := json.Marshal(taken.header)
	b, _ := json.Marshal(fresh.header)
	if !bytes.Equal(a, b) {
		t.Errorf("headers differ:\n%s\n%s", a, b)
	}
	// The new address was registered, the taken one left as it was.
	var n int
	if err := e.n.Pool("membership").QueryRow(context.Background(),
		"SELECT count(*) FROM people WHERE email IN ('nobody-yet@example.org', 'aroha@example.org')").Scan(&n); err != nil || n != 2 {
		t.Errorf("%d people (%v), want the first and the new one", n, err)
	}
	e.do(e.national(), "POST", "/v1/people", `{"name":"Someone","email":"Aroha@example.org"}`).problem(t, http.StatusConflict)
	e.do(e.hub("vic"), "POST", "/v1/people", `{"name":"Someone","email":"Aroha@example.org"}`).problem(t, http.StatusConflict)
}

// TestUndeliverableAddressesAreRefused: "a@b" parses but reaches nobody: 400 naming
// email on registration, 422 naming the row in an import.
func TestUndeliverableAddressesAreRefused(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-a")
	for _, bad := range []string{"a@b", "a@localhost", "a b@example.org", "a@example..org"} {
		body, _ := json.Marshal(map[string]string{"name": "A", "email": bad})
		for _, tok := range []string{e.national(), ""} {
			if p := e.do(tok, "POST", "/v1/people", string(body)).problem(t, http.StatusBadRequest); !slices.Equal(p.fields(), []string{"email"}) {
				t.Errorf("%q: fields %v, want email", bad, p.fields())
			}
		}
	}
	p := e.send(e.hub("vic"), "POST", "/v1/cops/cop-a/members:import", "text/csv", "name,email\nAna,a@b\n").problem(t, http.StatusUnprocessableEntity)
	if !slices.Equal(p.fields(), []string{"line 2: email"}) {
		t.Errorf("import fields %v, want line 2: email", p.fields())
	}
}

// TestTheSweepsEventsCarryTraceContext: the events the sweep publishes when it settles an
// appointment nobody touched carry a traceparent and a correlation id, one per settlement.
func TestTheSweepsEventsCarryTraceContext(t *testing.T) {
	prev := otel.GetTracerProvider()
	tp := sdktrace.NewTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prev)
		_ = tp.Shutdown(context.Background())
	})
	t.Setenv("COPNET_MEMBERSHIP_SWEEP_INTERVAL", "20ms")
	t.Setenv("COPNET_MEMBERSHIP_CONSENT_WINDOW", "48h")
	e := start(t)
	e.approve("vic", "cop-a")
	p := e.register("Pia", "pia@example.org")
	e.join("cop-a", p)
	var ap appointment
	e.must(http.StatusCreated, &ap, e.national(), "POST", "/v1/cops/cop-a/coordinator-appointments", fmt.Sprintf(`{"person_id":%q}`, p))
	e.clock.Advance(49 * time.Hour)
	awaitEvent(e, "coordinator_appointed", func(ev events.CoordinatorAppointed) bool { return ev.AppointmentID == ap.ID })

	var traces, correlations []string
	testkit.Eventually(t, waitFor, func() error {
		traces, correlations = nil, nil
		for _, name := range []string{"role_assigned", "coordinator_appointed"} {
			msgs := e.n.Messages(t, "cop.*.membership."+name)
			if len(msgs) != 1 {
				return fmt.Errorf("%d %s events", len(msgs), name)
			}
			tp := msgs[0].Header.Get(events.HeaderTraceParent)
			if len(tp) != 55 || tp[3:35] == strings.Repeat("0", 32) {
				return fmt.Errorf("%s carries traceparent %q", name, tp)
			}
			traces = append(traces, tp[3:35])
			correlations = append(correlations, msgs[0].Header.Get(events.HeaderCorrelationID))
		}
		return nil
	})
	if traces[0] != traces[1] || correlations[0] == "" || correlations[0] != correlations[1] {
		t.Errorf("one settlement, one trace and correlation: traces %v, correlations %v", traces, correlations)
	}
}

// TestARetirementAfterErasureWritesNoErasedId: membership's consumers never write an erased
// person's id. cop_approved and charter_published carry none; cop_retired ends only current
// memberships, and erasure ended the erased person's in its own transaction. So a
// retirement that comes after an erasure publishes no member_left for them and re-creates
// nothing.
func TestARetirementAfterErasureWritesNoErasedId(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-a")
	gone := e.register("Gone Soon", "gone@example.org")
	stays := e.register("Stays Here", "stays@example.org")
	e.join("cop-a", gone)
	e.join("cop-a", stays)
	if r := e.do(e.person(gone), "DELETE", "/v1/people/"+gone, ""); r.status != http.StatusNoContent {
		t.Fatalf("%s", r)
	}
	e.n.Publish(t, events.CoPRetired{CoPID: "cop-a", Region: "vic", Reason: "merged"})
	awaitEvent(e, "member_left", func(ev events.MemberLeft) bool { return ev.PersonID == stays && ev.Reason == "cop_retired" })
	for _, ev := range published[events.MemberLeft](e, "member_left") {
		if ev.PersonID == gone && ev.Reason != "erased" {
			t.Errorf("member_left %+v for the erased person after the erasure", ev)
		}
	}
	var active int
	if err := e.n.Pool("membership").QueryRow(context.Background(),
		"SELECT count(*) FROM memberships WHERE person_id = $1 AND left_at IS NULL", gone).Scan(&active); err != nil || active != 0 {
		t.Errorf("%d current memberships of the erased person (%v)", active, err)
	}
}
