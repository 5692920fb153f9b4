package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/copnet/copnet/cmd/copnet/broker"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/testkit"
)

// TestNATSReaderIssuedWhileTheNodeRuns: `copnet nats-reader --name crm` issues credentials a
// running node's embedded server accepts within seconds (no restart); with them an
// integration reads the stream and cannot publish; `--revoke` disconnects it.
func TestNATSReaderIssuedWhileTheNodeRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e, err := broker.Start(broker.Topology{NodeID: "nat", StoreDir: filepath.Join(dir, "nats"),
		ClientListen: fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t)), AppUser: "copnet", AppPassword: "app-password-0123"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	b, err := bus.New(bus.Config{NodeID: "nat"}, e.Connector())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Provision(); err != nil {
		t.Fatal(err)
	}
	app, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	if _, err := app.Request("cop.nat.registry.region_created", []byte("event"), 5*time.Second); err != nil {
		t.Fatal("publish as the node:", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go watchReaders(ctx, dir, e, slog.Default())

	r := runCopnet(t, dir, "nats-reader", "--name", "crm")
	if r.status != 0 {
		t.Fatalf("copnet nats-reader: %d %s", r.status, r.stderr)
	}
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `:\s+(\S+)`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no %s in:\n%s", name, r.stdout)
		}
		return m[1]
	}
	user, password, inbox := field("user"), field("password"), field("inbox prefix")
	if again := runCopnet(t, dir, "nats-reader", "--name", "crm"); again.stdout != r.stdout {
		t.Fatalf("asking again changed the credentials:\n%s\n%s", r.stdout, again.stdout)
	}
	if list := runCopnet(t, dir, "nats-reader"); strings.TrimSpace(list.stdout) != "crm" {
		t.Fatalf("list: %q", list.stdout)
	}
	// For a split deployment's nats-server: the same user, ready to paste into its users.
	conf := runCopnet(t, dir, "nats-reader", "--name", "crm", "--conf")
	opts := &server.Options{}
	if err := opts.ProcessConfigString("accounts { COP: { jetstream: enabled, users: [ " + conf.stdout + " ] } }"); err != nil ||
		len(opts.Users) != 1 || opts.Users[0].Username != user || opts.Users[0].Password != password || opts.Users[0].Permissions == nil {
		t.Fatalf("--conf printed %q: %v", conf.stdout, err)
	}

	var nc *nats.Conn
	refused := make(chan error, 10)
	testkit.Eventually(t, 20*time.Second, func() error {
		var err error
		nc, err = nats.Connect(e.ClientURL(), nats.UserInfo(user, password), nats.CustomInboxPrefix(inbox),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { refused <- err }))
		return err
	})
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "COPNET", jetstream.ConsumerConfig{Durable: user})
	if err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next()
	if err != nil || string(m.Data()) != "event" {
		t.Fatalf("read %v, %v", m, err)
	}
	if err := nc.Publish("cop.nat.registry.region_created", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	if err := <-refused; !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("publish: %v, want a permissions violation", err)
	}

	if rv := runCopnet(t, dir, "nats-reader", "--name", "crm", "--revoke"); rv.status != 0 {
		t.Fatalf("revoke: %d %s", rv.status, rv.stderr)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		if nc.IsConnected() {
			return errors.New("the revoked reader is still connected")
		}
		return nil
	})
}
