package events_test

import (
	"testing"

	"github.com/copnet/copnet/pkg/events"
)

// FuzzParseEnvelope feeds arbitrary header values (they come from any NATS publisher the
// stream accepts, or from a federated child) to ParseEnvelope: it never panics, and what it
// accepts survives a round trip through Metadata unchanged, so a consumer re-publishing an
// event (dead-letter replay) keeps its source, type and trace context.
func FuzzParseEnvelope(f *testing.F) {
	f.Add("01J000000000000000000000", "registry.cop_approved.v1", "urn:copnet:node:vic", "2026-12-03T09:00:00Z", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "")
	f.Add("01J000000000000000000000", "registry.cop_approved.v1", "vic", "2026-12-03T09:00:00.123456789+11:00", "", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	f.Add("x", "t", "urn:copnet:node:", "2026-12-03T09:00:00Z", "", "")
	f.Add("x", "t", "urn:copnet:node:urn:copnet:node:nsw", "not a time", "", "")
	f.Add("", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, id, ceType, source, at, traceparent, ceTraceparent string) {
		md := map[string]string{events.HeaderID: id, events.HeaderType: ceType, events.HeaderSource: source, events.HeaderTime: at}
		if traceparent != "" {
			md[events.HeaderTraceParent] = traceparent
		}
		if ceTraceparent != "" {
			md[events.HeaderCETraceParent] = ceTraceparent
		}
		env, err := events.ParseEnvelope(md)
		if err != nil {
			return
		}
		if env.Source == "" {
			t.Fatalf("accepted an envelope without a source node: %q", source)
		}
		again, err := events.ParseEnvelope(env.Metadata())
		if err != nil {
			t.Fatalf("re-parsing %+v: %v", env, err)
		}
		if again.ID != env.ID || again.Type != env.Type || again.Source != env.Source ||
			!again.Time.Equal(env.Time) || again.TraceParent != env.TraceParent {
			t.Fatalf("round trip changed %+v into %+v", env, again)
		}
	})
}
