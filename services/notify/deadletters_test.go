package notify_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
)

// A mail the server refuses is parked as a dead letter, which national sees (by the
// recipient's domain only) and can send again; nobody else sees or retries it.
func TestRefusedMailIsADeadLetterNationalCanRetry(t *testing.T) {
	e := start(t, t0, testkit.MailpitArgs("--smtp-allowed-recipients", `@example\.org$`))
	setUpCoP(t, e, "ana")
	e.contact(t, "bo", "Bo", "bo@bounce.example.net")
	e.publish(t, events.MemberJoined{CoPID: "c1", Region: "vic", PersonID: "bo", CodeOfPracticeVersion: 1})
	e.waitCount(t, 2, `SELECT count(*) FROM members WHERE cop_id = 'c1'`)
	e.publish(t, events.CheckinDue{CoPID: "c1", SessionID: "s1", Number: 3})
	e.mp.WaitFor(t, "ana@example.org")
	e.waitCount(t, 1, `SELECT count(*) FROM mail_outbox WHERE failed_at IS NOT NULL`)

	national := e.n.National(t)
	var got struct {
		DeadLetters []struct {
			ID                     int64
			ToDomain               string `json:"to_domain"`
			Subject                string
			Attempts               int
			LastError              string `json:"last_error"`
			Retryable, Unconfirmed bool
		} `json:"dead_letters"`
	}
	if st := e.n.JSON(t, "GET", "/v1/mail/dead-letters", national, nil, &got); st != http.StatusOK {
		t.Fatalf("dead letters: %d", st)
	}
	if len(got.DeadLetters) != 1 {
		t.Fatalf("dead letters %+v", got.DeadLetters)
	}
	d := got.DeadLetters[0]
	if d.ToDomain != "bounce.example.net" || !d.Retryable || d.Unconfirmed || d.Attempts != 1 || !strings.Contains(d.Subject, "check-in") ||
		strings.Contains(d.LastError, "bo@bounce") {
		t.Fatalf("dead letter %+v", d)
	}
	member := e.n.Member(t, "ana")
	if st := e.n.JSON(t, "GET", "/v1/mail/dead-letters", member, nil, nil); st != http.StatusForbidden {
		t.Fatalf("a member reads dead letters: %d", st)
	}
	if st := e.n.JSON(t, "POST", "/v1/mail/dead-letters/1/retry", e.n.Token(t, httpx.Claims{Subject: "hubvic", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "vic"}}}), nil, nil); st != http.StatusForbidden {
		t.Fatalf("a hub officer retries: %d", st)
	}
	if st := e.n.JSON(t, "POST", "/v1/mail/dead-letters/999/retry", national, nil, nil); st != http.StatusNotFound {
		t.Fatalf("retry of no dead letter: %d", st)
	}
	// The retry makes it due again; refused again, it is a dead letter again, tried once more.
	before := d.ID
	var failedAt time.Time
	if err := e.db.QueryRow(context.Background(), `SELECT failed_at FROM mail_outbox WHERE id = $1`, before).Scan(&failedAt); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(time.Minute)) // the second failure is recorded at a later time
	if st := e.n.JSON(t, "POST", "/v1/mail/dead-letters/"+itoa(before)+"/retry", national, nil, nil); st != http.StatusNoContent {
		t.Fatalf("retry: %d", st)
	}
	e.waitCount(t, 1, `SELECT count(*) FROM mail_outbox WHERE id = $1 AND failed_at > $2 AND attempts = 1 AND last_error IS NOT NULL`, before, failedAt)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
