package tests

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/registry"
)

// The broker restarts while commands keep arriving: every event still arrives, none twice.
func TestBrokerRestartWhileCommandsArrive(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: restarts the NATS server under load")
	}
	ctx := context.Background()
	ns := testkit.NATS(t)
	n := testkit.StartNode(t, testkit.NodeOptions{NATS: ns}, registry.Factory)
	base := n.URL
	pr := startProbe(t, ctx, "national", ns.URL(), n.DatabaseURL)
	natl := n.Token(t, httpx.Claims{Subject: "ops", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})

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
