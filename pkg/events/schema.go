package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/copnet/copnet/schemas"
)

// Schemas validates payloads against the JSON Schemas in the schemas module. Compiled
// schemas are cached: validation runs on every consumed message.
type Schemas struct {
	fsys  fs.FS
	mu    sync.Mutex
	cache map[string]*jsonschema.Schema
}

// NewSchemas reads schemas from fsys (schemas.FS in production).
func NewSchemas(fsys fs.FS) *Schemas {
	return &Schemas{fsys: fsys, cache: map[string]*jsonschema.Schema{}}
}

var defaultSchemas = sync.OnceValue(func() *Schemas { return NewSchemas(schemas.FS) })

// DefaultSchemas returns the schemas shipped with this build.
func DefaultSchemas() *Schemas { return defaultSchemas() }

// Validate checks payload against the schema of the event type named by ceType
// (e.g. "registry.cop_approved.v1").
func (s *Schemas) Validate(ceType string, payload []byte) error {
	sch, err := s.compile(ceType)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("payload of %s is not JSON: %w", ceType, err)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("payload does not match schema %s: %w", ceType, err)
	}
	return nil
}

// ValidateEvent checks a typed event the way a consumer will see it.
func (s *Schemas) ValidateEvent(e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return s.Validate(e.EventName().Type(), b)
}

func (s *Schemas) compile(ceType string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.cache[ceType]; ok {
		return sch, nil
	}
	n, err := ParseType(ceType)
	if err != nil {
		return nil, err
	}
	raw, err := fs.ReadFile(s.fsys, n.SchemaPath())
	if err != nil {
		return nil, fmt.Errorf("no schema for event type %q: %w", ceType, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", n.SchemaPath(), err)
	}
	c := jsonschema.NewCompiler()
	url := "https://copnet.dev/schemas/" + n.SchemaPath()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %w", n.SchemaPath(), err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", n.SchemaPath(), err)
	}
	s.cache[ceType] = sch
	return sch, nil
}

// ParseType splits a ce-type such as "registry.cop_approved.v1" into its name.
func ParseType(ceType string) (Name, error) {
	var n Name
	parts := strings.Split(ceType, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return n, fmt.Errorf("event type %q is not <service>.<event>.v<N>", ceType)
	}
	if _, err := fmt.Sscanf(parts[2], "v%d", &n.Version); err != nil || n.Version < 1 {
		return n, fmt.Errorf("event type %q has no version", ceType)
	}
	n.Service, n.Event = parts[0], parts[1]
	return n, nil
}
