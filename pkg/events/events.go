// Package events holds the contract between services: the envelope every event travels in,
// the subject naming rule, and one Go type per event. Payloads carry ids, never personal data.
package events

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// Envelope attribute names. Our NATS headers are a CloudEvents 1.0 message in binary mode, so
// any CloudEvents tooling (the SDKs' NATS and JetStream bindings) reads them as they are.
const (
	HeaderID          = "ce-id"
	HeaderType        = "ce-type"
	HeaderSource      = "ce-source"
	HeaderTime        = "ce-time"
	HeaderSpecVersion = "ce-specversion"
	// HeaderContentType is the binary-mode home of the CloudEvents datacontenttype.
	HeaderContentType = "content-type"
	// HeaderTraceParent and HeaderTraceState carry W3C trace context for our own
	// middleware (the OpenTelemetry propagator reads these names).
	HeaderTraceParent = "traceparent"
	HeaderTraceState  = "tracestate"
	// HeaderCETraceParent and HeaderCETraceState carry the same context as the CloudEvents
	// distributed-tracing extension, whose attributes are traceparent and tracestate.
	HeaderCETraceParent = "ce-traceparent"
	HeaderCETraceState  = "ce-tracestate"
	HeaderCorrelationID = "correlation_id"
)

// ContentType is every payload's media type.
const ContentType = "application/json"

// SourcePrefix makes a node id a CloudEvents source: a URI reference unique across every
// copnet deployment that follows the node-id rule, whose last part stays the readable id.
const SourcePrefix = "urn:copnet:node:"

// SourceURI is the ce-source of events a node publishes.
func SourceURI(node string) string { return SourcePrefix + node }

// NodeOfSource returns the node id a ce-source names. Events published before sources
// became URIs carry the bare node id (they stay in streams for the retention period), so
// a source without the prefix is taken as that id.
func NodeOfSource(source string) string {
	if id, ok := strings.CutPrefix(source, SourcePrefix); ok {
		return id
	}
	return source
}

// SubjectRoot is the first token of every event subject; the second is the origin node.
const SubjectRoot = "cop"

// Name identifies one event of one service at one version.
type Name struct {
	Service string
	Event   string
	Version int
}

// Type is the ce-type value, e.g. "registry.cop_approved.v1".
func (n Name) Type() string { return fmt.Sprintf("%s.%s.v%d", n.Service, n.Event, n.Version) }

// Subject is where node publishes this event: cop.<node>.<service>.<event>.
func (n Name) Subject(node string) string {
	return strings.Join([]string{SubjectRoot, node, n.Service, n.Event}, ".")
}

// Filter matches this event from any origin node, which is what consumers of a node's
// aggregate stream want.
func (n Name) Filter() string { return n.Subject("*") }

// SchemaPath is the event's JSON Schema inside the schemas module.
func (n Name) SchemaPath() string {
	return fmt.Sprintf("events/%s/%s.v%d.json", n.Service, n.Event, n.Version)
}

// Event is implemented by every event payload type.
type Event interface {
	EventName() Name
}

// Envelope is what travels in the message headers around the JSON payload.
type Envelope struct {
	ID   string
	Type string
	// Source is the origin node id; on the wire it travels as SourceURI(Source).
	Source        string
	Time          time.Time
	TraceParent   string
	TraceState    string
	CorrelationID string
}

// NewID returns a ULID: unique across the whole federation tree, because Nats-Msg-Id is
// de-duplicated again at every hop and per-node counters would collide.
func NewID() string { return ulid.Make().String() }

// Metadata renders the envelope as header values.
func (e Envelope) Metadata() map[string]string {
	md := map[string]string{
		HeaderID:          e.ID,
		HeaderType:        e.Type,
		HeaderSource:      SourceURI(e.Source),
		HeaderTime:        e.Time.UTC().Format(time.RFC3339Nano),
		HeaderSpecVersion: "1.0",
		HeaderContentType: ContentType,
	}
	if e.TraceParent != "" {
		md[HeaderTraceParent] = e.TraceParent
		md[HeaderCETraceParent] = e.TraceParent
	}
	if e.TraceState != "" {
		md[HeaderTraceState] = e.TraceState
		md[HeaderCETraceState] = e.TraceState
	}
	if e.CorrelationID != "" {
		md[HeaderCorrelationID] = e.CorrelationID
	}
	return md
}

// ParseEnvelope reads an envelope back from headers, rejecting one that lacks what every
// consumer relies on.
func ParseEnvelope(md map[string]string) (Envelope, error) {
	e := Envelope{
		ID:            md[HeaderID],
		Type:          md[HeaderType],
		Source:        NodeOfSource(md[HeaderSource]),
		TraceParent:   firstOf(md[HeaderTraceParent], md[HeaderCETraceParent]),
		TraceState:    firstOf(md[HeaderTraceState], md[HeaderCETraceState]),
		CorrelationID: md[HeaderCorrelationID],
	}
	var missing []string
	for k, v := range map[string]string{HeaderID: e.ID, HeaderType: e.Type, HeaderSource: e.Source, HeaderTime: md[HeaderTime]} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return e, fmt.Errorf("envelope lacks %s", strings.Join(missing, ", "))
	}
	t, err := time.Parse(time.RFC3339Nano, md[HeaderTime])
	if err != nil {
		return e, fmt.Errorf("envelope %s %q is not RFC 3339: %w", HeaderTime, md[HeaderTime], err)
	}
	e.Time = t
	return e, nil
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// OriginOf returns the origin node token of an event subject, or "" when the subject is not
// an event subject.
func OriginOf(subject string) string {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 || parts[0] != SubjectRoot {
		return ""
	}
	return parts[1]
}

// Marshal renders an event payload.
func Marshal(e Event) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", e.EventName().Type(), err)
	}
	return b, nil
}
