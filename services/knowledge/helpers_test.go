package knowledge_test

// Shared setup of the knowledge service's component tests: a real node (PostgreSQL,
// embedded NATS with JetStream, the outbox forwarder, HTTP with authentication) running
// the knowledge service, fed upstream events with testkit's Publish.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/knowledge"
)

// waitFor bounds every Eventually: generous for small CI machines, reached only when
// something is really wrong.
const waitFor = 20 * time.Second

type env struct {
	*testkit.Node
}

func start(t testing.TB) *env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return &env{testkit.StartNode(t, testkit.NodeOptions{Logger: logger}, knowledge.Factory)}
}

func (e *env) national(t testing.TB) string {
	return e.National(t)
}

func (e *env) hub(t testing.TB, region string) string {
	return e.Hub(t, region)
}

func (e *env) coordinator(t testing.TB, cop string) string {
	return e.Coordinator(t, cop)
}

func (e *env) member(t testing.TB, person string) string {
	return e.Member(t, person)
}

// approve feeds cop_approved events and waits until the service knows every CoP.
func (e *env) approve(t testing.TB, copRegion ...string) {
	t.Helper()
	var evs []events.Event
	for i := 0; i < len(copRegion); i += 2 {
		evs = append(evs, events.CoPApproved{CoPID: copRegion[i], Region: copRegion[i+1]})
	}
	e.Publish(t, evs...)
	testkit.Eventually(t, waitFor, func() error {
		var n int
		if err := e.Pool("knowledge").QueryRow(context.Background(), "SELECT count(*) FROM cops").Scan(&n); err != nil {
			return err
		}
		if n < len(evs) {
			return fmt.Errorf("%d CoPs known, want %d", n, len(evs))
		}
		return nil
	})
}

// joined feeds member_joined for each person into cop (of region) and waits until the
// service knows them all as members.
func (e *env) joined(t testing.TB, cop, region string, people ...string) {
	t.Helper()
	var evs []events.Event
	for _, p := range people {
		evs = append(evs, events.MemberJoined{CoPID: cop, Region: region, PersonID: p, CodeOfPracticeVersion: 1})
	}
	e.Publish(t, evs...)
	testkit.Eventually(t, waitFor, func() error {
		var n int
		if err := e.Pool("knowledge").QueryRow(context.Background(),
			"SELECT count(*) FROM members WHERE cop_id = $1 AND person_id = ANY($2) AND active", cop, people).Scan(&n); err != nil {
			return err
		}
		if n != len(people) {
			return fmt.Errorf("%d of %d members of %s known", n, len(people), cop)
		}
		return nil
	})
}

// must sends a request that has to answer status, decoding the body into out.
func (e *env) must(t testing.TB, status int, method, path, token string, body, out any) {
	t.Helper()
	code, raw := e.Do(t, method, path, token, body)
	if code != status {
		t.Fatalf("%s %s → %d %s, want %d", method, path, code, raw, status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// processed counts the events a handler of the knowledge service has applied.
func (e *env) processed(t testing.TB, handler string) int {
	t.Helper()
	var n int
	if err := e.Pool("knowledge").QueryRow(context.Background(),
		"SELECT count(*) FROM processed_events WHERE handler = $1", "knowledge_"+handler).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// payloads decodes every event of one type on the node's stream.
func payloads[E events.Event](t testing.TB, e *env) []E {
	t.Helper()
	var zero E
	var out []E
	for _, m := range e.Messages(t, zero.EventName().Filter()) {
		var ev E
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func project(cop, title string, topics []string, place, group, from, to string) map[string]any {
	return map[string]any{
		"cop_id": cop, "title": title, "organisation": "org of " + cop, "topics": topics,
		"communities": []map[string]string{{"place": place, "group": group}},
		"starts_on":   from, "ends_on": to, "methods": []string{"survey"},
	}
}
