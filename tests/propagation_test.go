package tests

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
)

// The trace context and correlation id of an HTTP request travel with the event it causes,
// through the outbox and JetStream, into the context of the consumer that applies it.
func TestTraceAndCorrelationFollowTheEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs the copnet binary")
	}
	ctx := context.Background()
	ns := testkit.NATS(t)
	dbURL := testkit.PostgresURL(t)
	p := startCopnet(t, "COPNET_NATS_URL="+ns.URL(), "DATABASE_URL="+dbURL, "COPNET_AUTH_SECRET="+secret)
	pr := startProbe(t, ctx, "national", ns.URL(), dbURL)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, err := http.NewRequest("POST", p.base+"/v1/regions", bytes.NewBufferString(`{"id":"vic","name":"Victoria"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(t, httpx.Claims{Subject: "ops", Grants: []httpx.Grant{{Role: httpx.RoleNational}}}))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	req.Header.Set("X-Correlation-ID", "onboarding-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create region: %d", resp.StatusCode)
	}

	nc := ns.Connect(t)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, func() error {
		m, err := js.GetLastMsg("COPNET", "cop.national.registry.region_created")
		if err != nil {
			return err
		}
		if got := m.Header.Get(events.HeaderCorrelationID); got != "onboarding-42" {
			return fmt.Errorf("event correlation_id %q", got)
		}
		if tp := m.Header.Get(events.HeaderTraceParent); len(tp) < 35 || tp[3:35] != traceID {
			return fmt.Errorf("event traceparent %q does not continue trace %s", tp, traceID)
		}
		return nil
	})
	testkit.Eventually(t, 30*time.Second, func() error {
		var corr, tid string
		err := pr.pool.QueryRow(ctx, "SELECT correlation_id, trace_id FROM applied WHERE region_id = 'vic'").Scan(&corr, &tid)
		if err != nil {
			return err
		}
		if corr != "onboarding-42" || tid != traceID {
			return fmt.Errorf("consumer saw correlation %q trace %q", corr, tid)
		}
		return nil
	})
}
