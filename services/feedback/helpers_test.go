package feedback_test

// Shared setup of the feedback service's component tests: a real node (PostgreSQL,
// embedded NATS with JetStream, outbox forwarder, HTTP with authentication) running the
// feedback service, fed upstream events the way registry, membership and scheduling
// publish them.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/feedback"
)

// waitFor bounds every Eventually: reached only when something is really wrong.
const waitFor = 20 * time.Second

type env struct {
	t     *testing.T
	n     *testkit.Node
	clock *testkit.Clock
}

// start boots the feedback service on a fresh node; logger nil logs warnings to stderr.
func start(t *testing.T, logger *slog.Logger) *env {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	c := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	n := testkit.StartNode(t, testkit.NodeOptions{Now: c.Now, Logger: logger}, feedback.Factory)
	return &env{t: t, n: n, clock: c}
}

func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func (e *env) national() string {
	return e.n.National(e.t)
}

func (e *env) hub(region string) string {
	return e.n.Hub(e.t, region)
}

func (e *env) coordinator(cop string) string {
	return e.n.Coordinator(e.t, cop)
}

func (e *env) member(person string) string {
	return e.n.Member(e.t, person)
}

// count runs a count query on the feedback schema.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.n.Pool("feedback").QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// approve feeds registry's cop_approved and waits until the service knows the CoP.
func (e *env) approve(cop, region string) {
	e.t.Helper()
	e.n.Publish(e.t, events.CoPApproved{CoPID: cop, Region: region})
	testkit.Eventually(e.t, waitFor, func() error {
		if e.count(`SELECT count(*) FROM cops WHERE id = $1`, cop) != 1 {
			return fmt.Errorf("CoP %s not known yet", cop)
		}
		return nil
	})
}

// join feeds membership's member_joined for each person and waits for all of them.
func (e *env) join(cop, region string, persons ...string) {
	e.t.Helper()
	for _, p := range persons {
		e.n.Publish(e.t, events.MemberJoined{CoPID: cop, Region: region, PersonID: p, CodeOfPracticeVersion: 1})
	}
	testkit.Eventually(e.t, waitFor, func() error {
		if n := e.count(`SELECT count(*) FROM members WHERE cop_id = $1 AND person_id = ANY($2) AND current`, cop, persons); n != len(persons) {
			return fmt.Errorf("%d of %d members known", n, len(persons))
		}
		return nil
	})
}

// call sends a request and returns status and body.
func (e *env) call(tok, method, path string, body any) (int, []byte) {
	e.t.Helper()
	return e.n.Do(e.t, method, path, tok, body)
}

// must sends a request that has to answer status, decoding the body into out.
func (e *env) must(status int, out any, tok, method, path string, body any) {
	e.t.Helper()
	got, raw := e.call(tok, method, path, body)
	if got != status {
		e.t.Fatalf("%s %s → %d %s, want %d", method, path, got, raw, status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// problem checks a problem+json answer's status and returns the fields it names.
func (e *env) problem(status int, tok, method, path string, body any) []string {
	e.t.Helper()
	got, raw := e.call(tok, method, path, body)
	var p struct {
		Status int `json:"status"`
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	if got != status || json.Unmarshal(raw, &p) != nil || p.Status != status {
		e.t.Fatalf("%s %s → %d %s, want a %d problem", method, path, got, raw, status)
	}
	out := []string{}
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

type poll struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	CoPID     string `json:"cop_id"`
	SessionID string `json:"session_id"`
	Kind      string `json:"kind"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`
	Questions []struct {
		Key string `json:"key"`
	} `json:"questions"`
}

type results struct {
	PollID    string `json:"poll_id"`
	Withheld  bool   `json:"withheld"`
	Reason    string `json:"reason"`
	Responses int    `json:"responses"`
	Questions []struct {
		Key          string         `json:"key"`
		Distribution map[string]int `json:"distribution"`
		Mean         *float64       `json:"mean"`
		Counts       map[string]int `json:"counts"`
		Method       string         `json:"method"`
		Ranking      []struct {
			Option string `json:"option"`
			Score  int    `json:"score"`
		} `json:"ranking"`
		Words []struct {
			Word  string `json:"word"`
			Count int    `json:"count"`
		} `json:"words"`
	} `json:"questions"`
}

// choicePoll is a members' multiple-choice poll body for cop.
func choicePoll(cop string, extra ...string) map[string]any {
	b := map[string]any{"cop_id": cop, "kind": "choice", "question": "Which topic next?",
		"options": []string{"funding", "data", "consent"}}
	for i := 0; i+1 < len(extra); i += 2 {
		b[extra[i]] = extra[i+1]
	}
	return b
}

// createPoll opens a poll as national.
func (e *env) createPoll(body map[string]any) poll {
	e.t.Helper()
	var p poll
	e.must(http.StatusCreated, &p, e.national(), "POST", "/v1/polls", body)
	return p
}

// ballot takes person's ballot for the poll.
func (e *env) ballot(pollID, person string) string {
	e.t.Helper()
	var b struct {
		Ballot string `json:"ballot"`
	}
	e.must(http.StatusCreated, &b, e.member(person), "POST", "/v1/polls/"+pollID+"/ballots", nil)
	return b.Ballot
}

// vote takes person's ballot and casts answer with it, anonymously.
func (e *env) vote(pollID, person string, answer any) {
	e.t.Helper()
	b := e.ballot(pollID, person)
	e.must(http.StatusCreated, nil, "", "POST", "/v1/polls/"+pollID+"/responses", map[string]any{"ballot": b, "answer": answer})
}

// persons returns n distinctive person ids, easy to search for.
func persons(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-person-%02d", prefix, i+1)
	}
	return out
}

// feedbackEvents returns the feedback service's events on the stream, by type.
func (e *env) feedbackEvents(event string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, m := range e.n.Messages(e.t, "cop.*.feedback."+event) {
		var payload map[string]any
		if err := json.Unmarshal(m.Data, &payload); err != nil {
			e.t.Fatalf("%s: %v", m.Subject, err)
		}
		out = append(out, payload)
	}
	return out
}

// awaitEvent waits until an event of type event about poll is on the stream.
func (e *env) awaitEvent(event, pollID string) map[string]any {
	e.t.Helper()
	var found map[string]any
	testkit.Eventually(e.t, waitFor, func() error {
		for _, p := range e.feedbackEvents(event) {
			if p["poll_id"] == pollID {
				found = p
				return nil
			}
		}
		return fmt.Errorf("no %s for poll %s yet", event, pollID)
	})
	return found
}

// outboxCount counts events of ce-type typ about poll in the outbox: what is committed
// there is what reaches the stream, so it proves an absence without waiting.
func (e *env) outboxCount(typ, pollID string) int {
	e.t.Helper()
	return e.count(`SELECT count(*) FROM watermill_outbox WHERE payload->'metadata'->>'ce-type' = $1
		AND convert_from(decode(payload->>'payload', 'base64'), 'UTF8')::jsonb->>'poll_id' = $2`, typ, pollID)
}

func contains(haystack string, needles []string) []string {
	var found []string
	for _, n := range needles {
		if strings.Contains(haystack, n) {
			found = append(found, n)
		}
	}
	return found
}
