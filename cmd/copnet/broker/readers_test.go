package broker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/copnet/copnet/cmd/copnet/broker"
	"github.com/copnet/copnet/pkg/testkit"
)

// violations collects the permission errors the server sends a client.
type violations struct {
	mu   sync.Mutex
	errs []string
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrPermissionViolation) {
		v.mu.Lock()
		v.errs = append(v.errs, err.Error())
		v.mu.Unlock()
	}
}

// waitFor waits until the server has refused something naming subject.
func (v *violations) waitFor(t *testing.T, subject string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, e := range v.errs {
			if strings.Contains(e, subject) {
				return nil
			}
		}
		return fmt.Errorf("no permission violation for %q yet (have %q)", subject, v.errs)
	})
}

// An integration's read-only credentials, issued while the node runs, consume the node's
// stream through their own durable consumer; publishing an event, creating or deleting a
// stream, and deleting a service's consumer are refused by the server, and the stream is
// left as it was.
func TestReaderConsumesAndIsRefusedEverythingElse(t *testing.T) {
	e := start(t, broker.Topology{NodeID: "nat", ClientListen: fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))})
	b := provision(t, e, "nat")
	app := js(t, b)
	for i := range 3 {
		if _, err := app.Publish("cop.nat.registry.region_created", []byte(fmt.Sprint(i)), nats.MsgId(fmt.Sprint("e-", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := app.AddConsumer("COPNET", &nats.ConsumerConfig{Durable: "membership", AckPolicy: nats.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	// The node-private stream (people's contact details for notify, provisioned with the
	// node's stream) is never the reader's.
	if _, err := app.Publish("private.nat.contact.p1", []byte(`{"address":"p1@example.org"}`)); err != nil {
		t.Fatal(err)
	}

	crm := broker.Reader{Name: "crm", Password: "reader-secret-crm"}
	if err := e.SetReaders([]broker.Reader{crm}); err != nil {
		t.Fatal(err)
	}
	var v violations
	nc, err := nats.Connect(e.ClientURL(), nats.UserInfo(crm.User(), crm.Password),
		nats.CustomInboxPrefix(crm.InboxPrefix()), nats.ErrorHandler(v.handler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	rjs, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Consuming works, acknowledgements included: a second fetch starts after the three.
	cons, err := rjs.CreateOrUpdateConsumer(ctx, "COPNET", jetstream.ConsumerConfig{
		Durable: crm.User(), AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal("create the reader's consumer:", err)
	}
	batch, err := cons.Fetch(3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal("ack:", err)
		}
	}
	if strings.Join(got, ",") != "0,1,2" {
		t.Fatalf("reader consumed %q, want the three events", got)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 3 {
		t.Fatalf("ack floor %d, want 3", info.AckFloor.Stream)
	}

	// Publishing an event is refused, and the event is not in the stream.
	if err := nc.Publish("cop.nat.registry.region_created", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	v.waitFor(t, "cop.nat.registry.region_created")
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	if _, err := rjs.Publish(short, "cop.nat.registry.region_created", []byte("forged")); err == nil {
		t.Fatal("a JetStream publish by the reader was acknowledged")
	}
	cancelShort()
	if si, err := app.StreamInfo("COPNET"); err != nil || si.State.Msgs != 3 {
		t.Fatalf("stream holds %v messages (err %v), want 3", si.State.Msgs, err)
	}

	// Stream administration is refused.
	for name, try := range map[string]func(context.Context) error{
		"$JS.API.STREAM.CREATE.MINE": func(c context.Context) error {
			_, err := rjs.CreateStream(c, jetstream.StreamConfig{Name: "MINE", Subjects: []string{"mine.>"}})
			return err
		},
		"$JS.API.STREAM.DELETE.COPNET":              func(c context.Context) error { return rjs.DeleteStream(c, "COPNET") },
		"$JS.API.STREAM.PURGE.COPNET":               func(c context.Context) error { s, _ := rjs.Stream(c, "COPNET"); return s.Purge(c) },
		"$JS.API.CONSUMER.DELETE.COPNET.membership": func(c context.Context) error { return rjs.DeleteConsumer(c, "COPNET", "membership") },
		"$JS.API.CONSUMER.CREATE.COPNET_PRIVATE.reader-crm": func(c context.Context) error {
			_, err := rjs.CreateOrUpdateConsumer(c, "COPNET_PRIVATE", jetstream.ConsumerConfig{Durable: crm.User()})
			return err
		},
		"$JS.API.STREAM.INFO.COPNET_PRIVATE": func(c context.Context) error {
			_, err := rjs.Stream(c, "COPNET_PRIVATE")
			return err
		},
		"$JS.API.DIRECT.GET.COPNET_PRIVATE": func(c context.Context) error {
			_, err := nc.RequestWithContext(c, "$JS.API.DIRECT.GET.COPNET_PRIVATE", []byte(`{"last_by_subj":"private.nat.contact.p1"}`))
			return err
		},
	} {
		short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
		if err := try(short); err == nil {
			t.Fatalf("%s was allowed", name)
		}
		cancelShort()
		v.waitFor(t, name)
	}
	// Listening to the node's subjects directly is refused too.
	if _, err := nc.SubscribeSync("cop.>"); err != nil {
		t.Fatal(err)
	}
	v.waitFor(t, "cop.>")
	if si, err := app.StreamInfo("COPNET"); err != nil || si.State.Msgs != 3 {
		t.Fatalf("after the refusals the stream holds %v messages (err %v), want 3", si.State.Msgs, err)
	}
	if _, err := app.ConsumerInfo("COPNET", "membership"); err != nil {
		t.Fatal("the service's consumer is gone:", err)
	}
	if _, err := app.StreamInfo("MINE"); !errors.Is(err, nats.ErrStreamNotFound) {
		t.Fatalf("stream MINE: %v, want not found", err)
	}

	// A revoked reader is disconnected and cannot come back.
	if err := e.SetReaders(nil); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if nc.IsConnected() {
			return errors.New("the revoked reader is still connected")
		}
		return nil
	})
	if c, err := nats.Connect(e.ClientURL(), nats.UserInfo(crm.User(), crm.Password)); err == nil {
		c.Close()
		t.Fatal("a revoked reader connected")
	}
}
