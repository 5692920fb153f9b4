package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/extensions"
	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// TestEventsDecodeAsCloudEvents reads an event the outbox forwarded to JetStream with the
// CloudEvents Go SDK's JetStream binding, as any third party would: binary mode, a JSON
// content type, a source that is a URI naming the node, and the trace context as the SDK's
// distributed-tracing extension.
func TestEventsDecodeAsCloudEvents(t *testing.T) {
	e := newEnv(t)
	pool := e.service("registry")
	e.forward("registry", pool)

	noGlobalPropagator(t)
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("bus_test").Start(context.Background(), "create region")
	e.publish(ctx, pool, events.RegionCreated{RegionID: "vic", Name: "Victoria"})
	span.End()

	var raw *nats.RawStreamMsg
	testkit.Eventually(t, waitFor, func() error {
		var err error
		raw, err = e.js.GetLastMsg(bus.DefaultStream, regionSubject)
		return err
	})
	msg := cejs.NewMessage(&nats.Msg{Subject: raw.Subject, Header: raw.Header, Data: raw.Data})
	if enc := msg.ReadEncoding(); enc != binding.EncodingBinary {
		t.Fatalf("encoding = %v, want binary (ce-specversion header)", enc)
	}
	ev, err := binding.ToEvent(context.Background(), msg)
	if err != nil {
		t.Fatalf("not a CloudEvent: %v", err)
	}
	if err := ev.Validate(); err != nil {
		t.Errorf("invalid CloudEvent: %v", err)
	}
	if got := ev.DataContentType(); got != "application/json" {
		t.Errorf("datacontenttype = %q, want application/json", got)
	}
	if got, want := ev.Source(), "urn:copnet:node:"+node; got != want {
		t.Errorf("source = %q, want %q", got, want)
	}
	if events.NodeOfSource(ev.Source()) != events.OriginOf(raw.Subject) {
		t.Errorf("source %q does not name the subject's origin %q", ev.Source(), raw.Subject)
	}
	if ev.Type() != "registry.region_created.v1" || ev.ID() != raw.Header.Get(nats.MsgIdHdr) {
		t.Errorf("type %q id %q", ev.Type(), ev.ID())
	}
	var payload events.RegionCreated
	if err := json.Unmarshal(ev.Data(), &payload); err != nil || payload.RegionID != "vic" {
		t.Errorf("data %s: %v", ev.Data(), err)
	}
	dt, ok := extensions.GetDistributedTracingExtension(*ev)
	if !ok {
		t.Fatalf("no distributed-tracing extension; extensions: %v", ev.Extensions())
	}
	sc := span.SpanContext()
	if want := fmt.Sprintf("00-%s-%s-01", sc.TraceID(), sc.SpanID()); dt.TraceParent != want {
		t.Errorf("traceparent extension = %q, want %q", dt.TraceParent, want)
	}
}
