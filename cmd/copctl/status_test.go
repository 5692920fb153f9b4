package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
)

// probe is a test service with one consumer (of person_registered) that fails, for good,
// on the person ids in its broken set: those events end in the dead-letter stream until
// the set is mended and they are replayed.
type probe struct {
	mu     sync.Mutex
	broken map[string]bool
}

func (p *probe) isBroken(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.broken[id]
}

func (p *probe) mend(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.broken, id)
}

type probeService struct{ r *bus.Router }

func (probeService) Register(*http.ServeMux)         {}
func (s probeService) Run(ctx context.Context) error { return s.r.Run(ctx) }

func (p *probe) factory() node.Factory {
	return node.Factory{Name: "probe", Migrations: fstest.MapFS{}, New: func(_ context.Context, d node.Deps) (node.Service, error) {
		r, err := d.Bus.NewRouter("probe", d.Pool)
		if err != nil {
			return nil, err
		}
		bus.Handle(r, "on_person_registered", func(_ context.Context, _ pgx.Tx, ev events.PersonRegistered, _ events.Envelope) error {
			if p.isBroken(ev.PersonID) {
				return bus.Permanent(fmt.Errorf("probe cannot apply person %s", ev.PersonID))
			}
			return nil
		})
		return probeService{r}, nil
	}}
}

// natsConsumerConfig is a durable consumer nobody reads from: it lags by the whole stream.
var natsConsumerConfig = nats.ConsumerConfig{Durable: "copctl_idle", AckPolicy: nats.AckExplicitPolicy, DeliverPolicy: nats.DeliverAllPolicy}

func (e *env) deadLetters() []DeadLetter {
	e.t.Helper()
	dls, err := listDeadLetters(context.Background(), e.client(e.national()), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return dls
}

func TestDLQListAndReplay(t *testing.T) {
	p := &probe{broken: map[string]bool{"p-one": true, "p-two": true}}
	e := start(t, p.factory())
	e.n.Publish(t, events.PersonRegistered{PersonID: "p-one"}, events.PersonRegistered{PersonID: "p-two"})
	testkit.Eventually(t, waitFor, func() error {
		if n := len(e.deadLetters()); n != 2 {
			return fmt.Errorf("%d dead letters, want 2", n)
		}
		return nil
	})
	dls := e.deadLetters()
	seqOf := map[string]uint64{}
	for _, d := range dls {
		for _, id := range []string{"p-one", "p-two"} {
			if strings.Contains(d.Reason, id) {
				seqOf[id] = d.Seq
			}
		}
	}
	if len(seqOf) != 2 {
		t.Fatalf("dead letters %+v do not name both people", dls)
	}

	out, err := e.call(e.national(), cmdDLQ, "list")
	if err != nil || !strings.HasPrefix(out, "SEQ ") || strings.Count(out, "probe_on_person_registered") != 2 || !strings.Contains(out, "membership.person_registered") {
		t.Errorf("dlq list: %v\n%s", err, out)
	}
	code, stdout, _ := e.cli(e.national(), "dlq", "list", "--output", "json")
	var listed struct {
		DeadLetters []DeadLetter `json:"deadletters"`
	}
	if code != exitOK || json.Unmarshal([]byte(stdout), &listed) != nil || len(listed.DeadLetters) != 2 {
		t.Errorf("dlq list --output json → exit %d\n%s", code, stdout)
	}

	// Replay everything after mending only p-one: one replayed, one failed (and kept), exit 1.
	p.mend("p-one")
	code, stdout, stderr := e.cli(e.national(), "dlq", "replay")
	wantOne := fmt.Sprintf("dead letter %d (probe_on_person_registered, membership.person_registered.v1): replayed\n", seqOf["p-one"])
	wantTwo := fmt.Sprintf("dead letter %d (probe_on_person_registered, membership.person_registered.v1): failed: 409 Conflict: replay failed", seqOf["p-two"])
	if code != exitFail || !strings.Contains(stdout, wantOne) || !strings.Contains(stdout, wantTwo) ||
		!strings.Contains(stderr, "1 of 2 dead letter(s) could not be replayed") {
		t.Errorf("dlq replay → exit %d\nstdout %s\nstderr %s\nwant %q and %q", code, stdout, stderr, wantOne, wantTwo)
	}
	if dls := e.deadLetters(); len(dls) != 1 || dls[0].Seq != seqOf["p-two"] {
		t.Fatalf("after replaying all: %+v, want only p-two's", dls)
	}

	// Named by --id once it is mended.
	p.mend("p-two")
	code, stdout, stderr = e.cli(e.national(), "dlq", "replay", "--id", fmt.Sprint(seqOf["p-two"]))
	if code != exitOK || stdout != fmt.Sprintf("dead letter %d: replayed\n", seqOf["p-two"]) || stderr != "" {
		t.Errorf("dlq replay --id → exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if dls := e.deadLetters(); len(dls) != 0 {
		t.Errorf("dead letters left: %+v", dls)
	}
	if out, err := e.call(e.national(), cmdDLQ, "replay"); err != nil || out != "no dead letters to replay\n" {
		t.Errorf("replay of none: %v %q", err, out)
	}
	// An unknown one is reported and fails the command; a hub may not replay.
	code, stdout, stderr = e.cli(e.national(), "dlq", "replay", "--id", "424242")
	if code != exitFail || !strings.Contains(stdout, "dead letter 424242: failed: 404 Not Found: no dead letter 424242") || !strings.Contains(stderr, "1 of 1") {
		t.Errorf("replay of nothing → exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := e.call(e.hub("vic"), cmdDLQ, "replay", "--id", "1"); StatusOf(err) != http.StatusForbidden {
		t.Errorf("replay as a hub: %v", err)
	}
}

func TestStatus(t *testing.T) {
	p := &probe{broken: map[string]bool{"p-bad": true}}
	e := start(t, registry.Factory, membership.Factory, p.factory())
	e.n.Publish(t, events.PersonRegistered{PersonID: "p-bad"}, events.PersonRegistered{PersonID: "p-good"})
	testkit.Eventually(t, waitFor, func() error {
		if n := len(e.deadLetters()); n != 1 {
			return fmt.Errorf("%d dead letters, want 1", n)
		}
		return nil
	})

	// Without NATS: everything but the lag, which is said to be unavailable.
	code, stdout, stderr := e.cli(e.national(), "status", "--output", "json")
	if code != exitOK || stderr != "" {
		t.Fatalf("status → exit %d, stderr %q", code, stderr)
	}
	var r StatusReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("status --output json is not a report: %v\n%s", err, stdout)
	}
	var services []string
	for _, s := range r.Readiness.Services {
		if !s.Ready || s.Check != "ok" {
			t.Errorf("service %+v not ready", s)
		}
		services = append(services, s.Name)
	}
	if !r.Ready || r.Readiness.Status != "ready" || r.Readiness.NATS != "ok" || !slices.Equal(services, []string{"federation", "membership", "probe", "registry"}) {
		t.Errorf("readiness = %+v", r.Readiness)
	}
	if r.Stream.Available || !strings.Contains(r.Stream.Reason, "no NATS URL given") || len(r.Stream.Consumers) != 0 {
		t.Errorf("stream without NATS = %+v", r.Stream)
	}
	if !r.DeadLetters.Available || r.DeadLetters.Count != 1 {
		t.Errorf("dead letters = %+v", r.DeadLetters)
	}
	if !r.Federation.Available || r.Federation.Node != "national" || r.Federation.Tier != "national" || r.Federation.Links == nil {
		t.Errorf("federation = %+v", r.Federation)
	}
	// The raw document has the documented keys.
	for _, key := range []string{`"readiness"`, `"stream"`, `"consumers"`, `"deadletters"`, `"count"`, `"federation"`, `"links"`} {
		if !strings.Contains(stdout, key) {
			t.Errorf("status json has no %s:\n%s", key, stdout)
		}
	}

	// With NATS: the stream and the lag of every durable consumer.
	testkit.Eventually(t, waitFor, func() error {
		code, stdout, stderr := e.cli(e.national(), "--nats", e.n.NATS.URL(), "status", "--output", "json")
		var r StatusReport
		if code != exitOK || json.Unmarshal([]byte(stdout), &r) != nil {
			return fmt.Errorf("exit %d %s %s", code, stdout, stderr)
		}
		if !r.Stream.Available || r.Stream.Name != "COPNET" || r.Stream.Messages < 2 || r.Stream.LastSeq < 2 {
			return fmt.Errorf("stream = %+v", r.Stream)
		}
		i := slices.IndexFunc(r.Stream.Consumers, func(c ConsumerLag) bool { return c.Name == "probe_on_person_registered" })
		if i < 0 {
			return fmt.Errorf("no probe consumer in %+v", r.Stream.Consumers)
		}
		for _, c := range r.Stream.Consumers {
			if c.Lag != c.NumPending+uint64(c.AckPending) {
				return fmt.Errorf("consumer %+v: lag is not pending + ack pending", c)
			}
		}
		if c := r.Stream.Consumers[i]; c.Lag != 0 {
			return fmt.Errorf("probe consumer still lags: %+v", c)
		}
		return nil
	})

	// A consumer that is behind shows its lag: a durable nobody reads from.
	js, err := e.n.NATS.Connect(t).JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddConsumer("COPNET", &natsConsumerConfig); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = e.cli(e.national(), "--nats", e.n.NATS.URL(), "status", "--output", "json")
	var lagging StatusReport
	if err := json.Unmarshal([]byte(stdout), &lagging); code != exitOK || err != nil {
		t.Fatalf("status → exit %d, %v", code, err)
	}
	i := slices.IndexFunc(lagging.Stream.Consumers, func(c ConsumerLag) bool { return c.Name == "copctl_idle" })
	if i < 0 {
		t.Fatalf("no idle consumer in %+v", lagging.Stream.Consumers)
	}
	if c := lagging.Stream.Consumers[i]; c.NumPending == 0 || c.NumPending != lagging.Stream.Messages || c.Lag != c.NumPending || c.AckPending != 0 {
		t.Errorf("idle consumer = %+v, want every one of the stream's %d messages pending", c, lagging.Stream.Messages)
	}
	code, stdout, _ = e.cli(e.national(), "--nats", e.n.NATS.URL(), "status")
	if code != exitOK || !strings.Contains(stdout, "stream COPNET: ") || !strings.Contains(stdout, "CONSUMER") ||
		!regexp.MustCompile(fmt.Sprintf(`(?m)^copctl_idle +%d +%d +0 +0$`, lagging.Stream.Consumers[i].Lag, lagging.Stream.Consumers[i].NumPending)).MatchString(stdout) {
		t.Errorf("status table with NATS → exit %d\n%s", code, stdout)
	}

	// The readable table without NATS says lag is unavailable and shows the rest.
	code, stdout, _ = e.cli(e.national(), "status")
	for _, want := range []string{"node " + e.n.URL + ": ready", "registry ", "membership ", "(nats) ", "stream COPNET and consumer lag: unavailable (no NATS URL given",
		"dead letters: 1 (copctl dlq list)", "federation: node national (national), 0 link(s)"} {
		if code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("status table → exit %d, no %q:\n%s", code, want, stdout)
		}
	}
	// A hub sees readiness but not the dead letters; NATS that is not there is reported.
	code, stdout, _ = e.cli(e.hub("vic"), "--nats", "nats://127.0.0.1:1", "status")
	if code != exitOK || !strings.Contains(stdout, "dead letters: unavailable (403 Forbidden") || !strings.Contains(stdout, "cannot reach NATS at nats://127.0.0.1:1") {
		t.Errorf("status as a hub → exit %d\n%s", code, stdout)
	}
	// An unreachable node is exit 1, with the report still written.
	code, stdout, stderr = e.cli(e.national(), "--url", "http://127.0.0.1:1", "status", "--output", "json")
	var down StatusReport
	if code != exitFail || json.Unmarshal([]byte(stdout), &down) != nil || down.Ready || down.Readiness.Status != "unreachable" ||
		!strings.Contains(stderr, "the node is not ready: cannot reach") {
		t.Errorf("status of a node that is not there → exit %d\n%s\n%s", code, stdout, stderr)
	}
	var nr *NotReady
	if _, err := e.call(e.national(), cmdStatus); err != nil || errors.As(err, &nr) {
		t.Errorf("status of a ready node: %v", err)
	}
}
