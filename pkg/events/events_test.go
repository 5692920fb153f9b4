package events_test

import (
	"io/fs"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/schemas"
)

// Every event type in code has a schema file, and every schema file has a type in code.
func TestEverySchemaHasAnEventAndBack(t *testing.T) {
	inCode := map[string]bool{}
	for _, e := range events.All() {
		inCode[e.EventName().SchemaPath()] = true
	}
	onDisk := map[string]bool{}
	err := fs.WalkDir(schemas.FS, "events", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			onDisk[path] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range inCode {
		if !onDisk[p] {
			t.Errorf("event %s has no schema file", p)
		}
	}
	for p := range onDisk {
		if !inCode[p] {
			t.Errorf("schema %s has no event type in pkg/events (add it to All)", p)
		}
	}
}

// The AsyncAPI document lists exactly the events the code defines, each on its subject.
func TestAsyncAPIMatchesCode(t *testing.T) {
	raw, err := fs.ReadFile(schemas.FS, "asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Channels map[string]struct {
			Address string `yaml:"address"`
		} `yaml:"channels"`
		Components struct {
			Messages map[string]struct {
				Name    string `yaml:"name"`
				Payload struct {
					Ref string `yaml:"$ref"`
				} `yaml:"payload"`
			} `yaml:"messages"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var documented, defined []string
	for _, m := range doc.Components.Messages {
		documented = append(documented, m.Name+" "+m.Payload.Ref)
	}
	addresses := map[string]bool{}
	for _, c := range doc.Channels {
		addresses[c.Address] = true
	}
	for _, e := range events.All() {
		n := e.EventName()
		defined = append(defined, n.Type()+" ./"+n.SchemaPath())
		if !addresses[n.Subject("{node}")] {
			t.Errorf("asyncapi.yaml has no channel %s", n.Subject("{node}"))
		}
	}
	sort.Strings(documented)
	sort.Strings(defined)
	if strings.Join(documented, "\n") != strings.Join(defined, "\n") {
		t.Fatalf("asyncapi.yaml messages differ from pkg/events:\ndocumented:\n%s\ndefined:\n%s",
			strings.Join(documented, "\n"), strings.Join(defined, "\n"))
	}
}

func TestSchemasRejectWhatBreaksThem(t *testing.T) {
	s := events.DefaultSchemas()
	if err := s.ValidateEvent(events.CoPApproved{CoPID: "c1", Region: "vic"}); err != nil {
		t.Fatalf("valid event rejected: %v", err)
	}
	if err := s.Validate("registry.cop_approved.v1", []byte(`{"cop_id":"c1"}`)); err == nil {
		t.Fatal("missing region accepted")
	}
	if err := s.Validate("registry.cop_approved.v1", []byte(`{"cop_id":"c1","region":"Not A Token"}`)); err == nil {
		t.Fatal("region that is no node token accepted")
	}
	if err := s.Validate("registry.nothing.v1", []byte(`{}`)); err == nil {
		t.Fatal("unknown event type accepted")
	}
	if err := s.ValidateEvent(events.CoPProposed{CoPID: "c1", Region: "vic", Name: "x", Scope: "local", Stage: "potential"}); err == nil {
		t.Fatal("null topics accepted: consumers expect an array")
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	env := events.Envelope{ID: events.NewID(), Type: "registry.cop_approved.v1", Source: "vic",
		Time: time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC), CorrelationID: "abc"}
	got, err := events.ParseEnvelope(env.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	if got != env {
		t.Fatalf("round trip: got %+v want %+v", got, env)
	}
	md := env.Metadata()
	delete(md, events.HeaderSource)
	if _, err := events.ParseEnvelope(md); err == nil || !strings.Contains(err.Error(), "ce-source") {
		t.Fatalf("missing ce-source not reported: %v", err)
	}
}

func TestSubjects(t *testing.T) {
	n := events.CoPApproved{}.EventName()
	if n.Subject("vic") != "cop.vic.registry.cop_approved" || n.Type() != "registry.cop_approved.v1" {
		t.Fatalf("naming: %s %s", n.Subject("vic"), n.Type())
	}
	if n.Filter() != "cop.*.registry.cop_approved" {
		t.Fatal(n.Filter())
	}
	if events.OriginOf("cop.geelong.registry.cop_approved") != "geelong" || events.OriginOf("deadletter.x.y") != "" {
		t.Fatal("OriginOf")
	}
	if a, b := events.NewID(), events.NewID(); a == b || len(a) != 26 {
		t.Fatalf("ids %q %q", a, b)
	}
	if _, err := events.ParseType("registry.cop_approved"); err == nil {
		t.Fatal("type without version accepted")
	}
}

// The envelope's source is a URI on the wire and the readable node id in code; a bare id
// (events published before sources became URIs) still reads as that node, and any other URI
// is kept whole, so it can never pass for a node's origin token.
func TestEnvelopeSourceIsANodeURN(t *testing.T) {
	env := events.Envelope{ID: events.NewID(), Type: "registry.region_created.v1", Source: "vic", Time: time.Now(), TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	md := env.Metadata()
	if md[events.HeaderSource] != "urn:copnet:node:vic" || md[events.HeaderContentType] != "application/json" {
		t.Errorf("headers %v", md)
	}
	if md[events.HeaderCETraceParent] != env.TraceParent || md[events.HeaderTraceParent] != env.TraceParent {
		t.Errorf("trace context not on both headers: %v", md)
	}
	back, err := events.ParseEnvelope(md)
	if err != nil || back.Source != "vic" || back.TraceParent != env.TraceParent {
		t.Errorf("parsed %+v, %v", back, err)
	}
	for source, node := range map[string]string{"urn:copnet:node:nsw": "nsw", "nsw": "nsw", "urn:other:nsw": "urn:other:nsw", "urn:copnet:node:": ""} {
		if got := events.NodeOfSource(source); got != node {
			t.Errorf("NodeOfSource(%q) = %q, want %q", source, got, node)
		}
	}
	delete(md, events.HeaderTraceParent)
	if back, _ := events.ParseEnvelope(md); back.TraceParent != env.TraceParent {
		t.Errorf("ce-traceparent alone is not read: %+v", back)
	}
}
