package tests

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/registry"
)

// The broker restarts while commands keep arriving: every event still arrives, none twice.
func TestBrokerRestartWhileCommandsArrive(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := testkit.NATS(t)
	dbURL := testkit.PostgresURL(t)

	b, err := bus.New(bus.Config{NodeID: "national", AckWait: 5 * time.Second}, bus.URLConnector(ns.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n, err := node.Start(ctx, node.Config{
		NodeID: "national", DatabaseURL: dbURL, Bus: b,
		HTTP:     httpx.ServerConfig{Addr: "127.0.0.1:0"},
		Verifier: httpx.HS256{Secret: []byte(secret)},
	}, registry.Factory)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ln, err := httpx.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx, ln) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()
	pr := startProbe(t, ctx, ns.URL(), dbURL)
	natl := token(t, httpx.Claims{Subject: "ops", Role: httpx.RoleNational})

	const total = 60
	for i := range total {
		if i == total/3 {
			ns.Restart(t)
		}
		id := fmt.Sprintf("r%02d", i)
		if st, body := call(t, "POST", base+"/v1/regions", natl, map[string]string{"id": id, "name": "Region " + id}); st != http.StatusCreated {
			t.Fatalf("create %s: %d %v", id, st, body)
		}
	}
	nc := ns.Connect(t)
	testkit.Eventually(t, 60*time.Second, func() error {
		stored, applied := streamRegions(t, nc), pr.applied(t)
		if len(stored) != total || len(applied) != total {
			return fmt.Errorf("stored %d, applied %d of %d", len(stored), len(applied), total)
		}
		for id := range stored {
			if stored[id] != 1 || applied[id] != 1 {
				return fmt.Errorf("%s stored %d, applied %d", id, stored[id], applied[id])
			}
		}
		return nil
	})
}
