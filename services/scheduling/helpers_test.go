package scheduling_test

// Shared setup of scheduling's component tests: a production-wired node (real PostgreSQL,
// embedded NATS JetStream, outbox forwarder, authentication) running scheduling, fed the
// registry's and membership's events through the stream as those services would publish
// them, with a clock the test moves.

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
	"github.com/copnet/copnet/services/scheduling"
)

const waitFor = 20 * time.Second

type env struct {
	t     *testing.T
	n     *testkit.Node
	clock *testkit.Clock
}

func start(t *testing.T, now time.Time) *env {
	t.Helper()
	return startWith(t, now, testkit.NodeOptions{})
}

// startWith starts a node with options beyond the clock and the logger.
func startWith(t *testing.T, now time.Time, opts testkit.NodeOptions) *env {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c := testkit.NewClock(now)
	opts.Now = c.Now
	n := testkit.StartNode(t, opts, scheduling.Factory)
	return &env{t: t, n: n, clock: c}
}

// publishAt publishes events as their producer would have at the time at: the envelope
// time is what consumers date membership changes by, and the bus stamps the wall clock.
func (e *env) publishAt(at time.Time, evs ...events.Event) {
	e.t.Helper()
	pub, err := e.n.Bus.NewPublisher("test-publish-at")
	if err != nil {
		e.t.Fatal(err)
	}
	defer pub.Close()
	for _, ev := range evs {
		msg, err := e.n.Bus.NewMessage(context.Background(), ev)
		if err != nil {
			e.t.Fatal(err)
		}
		msg.Metadata.Set(events.HeaderTime, at.UTC().Format(time.RFC3339Nano))
		if err := pub.Publish(ev.EventName().Subject(e.n.Bus.NodeID()), msg); err != nil {
			e.t.Fatal(err)
		}
	}
}

// field reports whether a problem+json answer names field among its errors.
func field(raw []byte, name string) bool {
	return strings.Contains(string(raw), `"field":"`+name+`"`)
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

// approve publishes cop_approved and waits until scheduling knows the CoP.
func (e *env) approve(cop, region string) {
	e.t.Helper()
	e.n.Publish(e.t, events.CoPApproved{CoPID: cop, Region: region})
	e.await(func() error {
		if st, raw := e.n.Do(e.t, "GET", "/v1/cops/"+cop+"/sessions", e.national(), nil); st != http.StatusOK {
			return fmt.Errorf("CoP %s not known yet: %d %s", cop, st, raw)
		}
		return nil
	})
}

// join publishes member_joined for each person and waits until they see the CoP.
func (e *env) join(cop string, people ...string) {
	e.t.Helper()
	for _, p := range people {
		e.n.Publish(e.t, events.MemberJoined{CoPID: cop, Region: "vic", PersonID: p, CodeOfPracticeVersion: 1})
	}
	e.awaitMembers(cop, people...)
}

// awaitMembers waits until each person sees the CoP, that is, scheduling has them as members.
func (e *env) awaitMembers(cop string, people ...string) {
	e.t.Helper()
	for _, p := range people {
		e.await(func() error {
			if st, _ := e.n.Do(e.t, "GET", "/v1/cops/"+cop+"/sessions", e.member(p), nil); st != http.StatusOK {
				return fmt.Errorf("%s is not a member of %s yet (%d)", p, cop, st)
			}
			return nil
		})
	}
}

func (e *env) await(cond func() error) {
	e.t.Helper()
	testkit.Eventually(e.t, waitFor, cond)
}

// must sends a request that has to answer status and decodes the answer into out.
func (e *env) must(status int, out any, method, path, token string, body any) {
	e.t.Helper()
	st, raw := e.n.Do(e.t, method, path, token, body)
	if st != status {
		e.t.Fatalf("%s %s → %d %s, want %d", method, path, st, raw, status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

type session struct {
	ID          string    `json:"id"`
	Number      int       `json:"number"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Timezone    string    `json:"timezone"`
	LocalStart  string    `json:"local_start"`
	Topic       string    `json:"topic"`
	Status      string    `json:"status"`
	Sequence    int       `json:"sequence"`
	Facilitator string    `json:"facilitator"`
	NoteTaker   string    `json:"note_taker"`
	HostGroup   []string  `json:"host_group"`
}

type program struct {
	ID       string    `json:"id"`
	Sessions []session `json:"sessions"`
}

func programBody(first string, sessions int, checkins ...int) map[string]any {
	return map[string]any{
		"title": "Share, Discuss, Apply", "sessions": sessions, "first_session_at": first,
		"timezone": "Australia/Melbourne", "cadence": "FREQ=WEEKLY;BYDAY=TU", "duration_minutes": 90,
		"format": []string{"share", "discuss", "apply"}, "checkins": append([]int{}, checkins...),
	}
}

// plan creates a weekly Tuesday program as national.
func (e *env) plan(cop, first string, sessions int, checkins ...int) program {
	e.t.Helper()
	var p program
	e.must(http.StatusCreated, &p, "POST", "/v1/cops/"+cop+"/programs", e.national(), programBody(first, sessions, checkins...))
	return p
}

func (e *env) sessions(cop string) []session {
	e.t.Helper()
	var out struct {
		Sessions []session `json:"sessions"`
	}
	e.must(http.StatusOK, &out, "GET", "/v1/cops/"+cop+"/sessions", e.national(), nil)
	return out.Sessions
}

// published decodes the payloads of the node's stream for one scheduling event.
func published[E any](e *env, event string) []E {
	e.t.Helper()
	var out []E
	for _, m := range e.n.Messages(e.t, "cop.*.scheduling."+event) {
		var ev E
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			e.t.Fatalf("decode %s: %v", event, err)
		}
		out = append(out, ev)
	}
	return out
}
