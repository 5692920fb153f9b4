package feedback_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// TestResponsesCannotBeTracedToMembers is the anonymity acceptance test: several members
// take ballots and answer; then every table of the service, every event it published and
// every log line (at debug level) is searched, and no person id is found next to a
// response, a ballot or an answer. Not parallel: it replaces the default logger.
func TestResponsesCannotBeTracedToMembers(t *testing.T) {
	logs := &testkit.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	old := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(old) })

	e := start(t, logger)
	e.approve("cop-a", "vic")
	members := persons("anon", 6)
	e.join("cop-a", "vic", members...)
	p := e.createPoll(choicePoll("cop-a"))
	ballots := map[string]string{}
	answers := []string{"funding", "data", "data", "consent", "funding", "data"}
	for i, m := range members {
		ballots[m] = e.ballot(p.ID, m)
		e.must(http.StatusCreated, nil, "", "POST", "/v1/polls/"+p.ID+"/responses",
			map[string]any{"ballot": ballots[m], "answer": answers[i]})
	}
	// An evaluation too, answered with a member's token sent along by a careless client:
	// the service must not tie the token's subject to the response either.
	e.n.Publish(t, events.SessionHeld{SessionID: "sess-anon", CoPID: "cop-a", ProgramID: "prog", Number: 1, HeldAt: e.clock.Now(), Topics: []string{}})
	var eval struct {
		Poll poll `json:"poll"`
	}
	testkit.Eventually(t, waitFor, func() error {
		if s, _ := e.call(e.national(), "GET", "/v1/sessions/sess-anon/evaluation", nil); s != http.StatusOK {
			return fmt.Errorf("evaluation: %d", s)
		}
		return nil
	})
	e.must(http.StatusOK, &eval, e.national(), "GET", "/v1/sessions/sess-anon/evaluation", nil)
	for _, m := range members {
		b := e.ballot(eval.Poll.ID, m)
		e.must(http.StatusCreated, nil, e.member(m), "POST", "/v1/polls/"+eval.Poll.ID+"/responses",
			map[string]any{"ballot": b, "answer": map[string]any{"confidence": 4, "usefulness": 5, "takeaway": "rotation"}})
	}
	e.must(http.StatusOK, nil, e.coordinator("cop-a"), "POST", "/v1/polls/"+p.ID+"/close", nil)
	e.must(http.StatusOK, nil, e.coordinator("cop-a"), "POST", "/v1/polls/"+eval.Poll.ID+"/close", nil)
	e.awaitEvent("results_published", p.ID)
	e.awaitEvent("results_published", eval.Poll.ID)

	// What would tie a person to a response: the ballots in any form, and response ids.
	var secrets []string
	for _, b := range ballots {
		raw, _ := base64.RawURLEncoding.DecodeString(b)
		secrets = append(secrets, b, hex.EncodeToString(raw))
	}

	// Tables: a row holding a person id may hold nothing but the CoP and poll ids, and
	// the only tables holding person ids are the membership projection and the record of
	// who got a ballot, whose columns are exactly that.
	ctx := context.Background()
	pool := e.n.Pool("feedback")
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'feedback' AND table_type = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	withPersons := map[string]bool{}
	for _, table := range tables {
		rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT t::text FROM feedback.%q t`, table))
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range texts {
			if found := contains(row, secrets); len(found) > 0 {
				t.Errorf("table %s stores a ballot: %s", table, row)
			}
			if len(contains(row, members)) == 0 {
				continue
			}
			withPersons[table] = true
			if found := contains(row, []string{"funding", "data", "consent", "rotation", "confidence"}); len(found) > 0 {
				t.Errorf("table %s holds a person id next to an answer: %s", table, row)
			}
		}
	}
	// Issuance is recorded under a keyed hash, so only the membership projection names
	// people.
	if got := keysOf(withPersons); !slices.Equal(got, []string{"members"}) {
		t.Errorf("person ids are in tables %v, want only members", got)
	}
	for table, want := range map[string][]string{
		"ballots_issued":   {"issue_hash", "poll_id"},
		"members":          {"as_of", "cop_id", "current", "person_id"},
		"responses":        {"answer", "id", "poll_id"},
		"sealed_responses": {"poll_id", "sealed", "seq"},
		"ballots_cast":     {"ballot_hash", "poll_id"},
	} {
		rows, err := pool.Query(ctx, `SELECT column_name::text FROM information_schema.columns
			WHERE table_schema = 'feedback' AND table_name = $1 ORDER BY 1`, table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		if !slices.Equal(cols, want) {
			t.Errorf("table %s has columns %v, want exactly %v (no time, no link)", table, cols, want)
		}
	}

	// Events: nothing the service published names a person.
	for _, m := range e.n.Messages(t, "cop.*.feedback.>") {
		if found := contains(string(m.Data), append(members, secrets...)); len(found) > 0 {
			t.Errorf("event %s carries %v: %s", m.Subject, found, m.Data)
		}
	}
	// Logs, at debug level, never hold a person id, let alone next to a poll or ballot.
	if found := contains(logs.String(), append(members, secrets...)); len(found) > 0 {
		t.Errorf("logs hold %v", found)
	}
	if logs.String() == "" {
		t.Error("no logs captured: the test would prove nothing")
	}
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
