// Package config loads a service's settings from the environment with envconfig, reporting
// every missing or invalid variable at once so that an operator fixes them in one pass.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/telemetry"
)

// Tiers a node can take in the federation tree.
const (
	TierNational = "national"
	TierRegional = "regional"
	TierLocal    = "local"
)

// Base holds the settings every copnet service shares. Each service's config embeds it.
type Base struct {
	// NodeID names this deployment; it is the origin token in event subjects and the
	// JetStream domain, so it must be a single NATS subject token.
	NodeID   string `envconfig:"COPNET_NODE_ID" default:"national"`
	NodeTier string `envconfig:"COPNET_NODE_TIER" default:"national"`
	HTTPAddr string `envconfig:"COPNET_HTTP_ADDR" default:"127.0.0.1:8080"`
	// PublicURL is the base URL people reach this node at (https://cop.example.org), used in
	// links the node hands out; empty means the HTTP address. Never taken from a request's
	// headers, which a client can forge.
	PublicURL string `envconfig:"COPNET_PUBLIC_URL"`
	// The HTTP server's timeouts (see httpx.ServerConfig): a client that is slow to send
	// its headers or body, a response that takes too long, and a keep-alive connection
	// left idle are all cut off.
	HTTPReadHeaderTimeout time.Duration `envconfig:"COPNET_HTTP_READ_HEADER_TIMEOUT" default:"10s"`
	HTTPReadTimeout       time.Duration `envconfig:"COPNET_HTTP_READ_TIMEOUT" default:"30s"`
	HTTPWriteTimeout      time.Duration `envconfig:"COPNET_HTTP_WRITE_TIMEOUT" default:"60s"`
	HTTPIdleTimeout       time.Duration `envconfig:"COPNET_HTTP_IDLE_TIMEOUT" default:"120s"`
	// DBMaxConns is every PostgreSQL connection this process may open, split across the
	// services it runs (see node.SplitBudget); DBAcquireTimeout is how long a request waits
	// for one of them before it is answered 503.
	DBMaxConns       int           `envconfig:"COPNET_DB_MAX_CONNS" default:"20"`
	DBAcquireTimeout time.Duration `envconfig:"COPNET_DB_ACQUIRE_TIMEOUT" default:"2s"`
	// DatabaseURL is required by the split services; the all-in-one may start its own cluster.
	DatabaseURL string `envconfig:"DATABASE_URL"`
	// NATSURL is the external NATS server; split services need it, the all-in-one embeds one
	// when it is empty.
	NATSURL    string `envconfig:"COPNET_NATS_URL"`
	AuthSecret string `envconfig:"COPNET_AUTH_SECRET"`
	// IssuerURL is the base URL of the process that issues access tokens (membership) when
	// it is not this one: services fetch its published keys (/.well-known/jwks.json) from
	// there. Empty: the keys are this node's own, derived from its secret.
	IssuerURL string `envconfig:"COPNET_ISSUER_URL"`
	// StreamMaxAge bounds how long the node's stream keeps events; it must outlast the
	// worst outage between this node and its parent.
	StreamMaxAge time.Duration `envconfig:"COPNET_STREAM_MAX_AGE" default:"720h"`
	// Telemetry carries the log level and the optional OTLP endpoint.
	telemetry.Config
}

// Validate reports every problem with the shared settings.
func (b Base) Validate() error {
	var errs []error
	if !ValidToken(b.NodeID) {
		errs = append(errs, fmt.Errorf("COPNET_NODE_ID %q must be lower-case letters, digits, '-' or '_'", b.NodeID))
	}
	switch b.NodeTier {
	case TierNational, TierRegional, TierLocal:
	default:
		errs = append(errs, fmt.Errorf("COPNET_NODE_TIER %q must be national, regional or local", b.NodeTier))
	}
	if u, err := url.Parse(b.PublicURL); b.PublicURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "") {
		errs = append(errs, fmt.Errorf("COPNET_PUBLIC_URL %q must be an http(s) base URL such as https://cop.example.org", b.PublicURL))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"COPNET_HTTP_READ_HEADER_TIMEOUT", b.HTTPReadHeaderTimeout},
		{"COPNET_HTTP_READ_TIMEOUT", b.HTTPReadTimeout},
		{"COPNET_HTTP_WRITE_TIMEOUT", b.HTTPWriteTimeout},
		{"COPNET_HTTP_IDLE_TIMEOUT", b.HTTPIdleTimeout},
		{"COPNET_DB_ACQUIRE_TIMEOUT", b.DBAcquireTimeout},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s %s must be positive", d.name, d.v))
		}
	}
	if b.HTTPReadHeaderTimeout > b.HTTPReadTimeout {
		errs = append(errs, fmt.Errorf("COPNET_HTTP_READ_HEADER_TIMEOUT %s is longer than COPNET_HTTP_READ_TIMEOUT %s, which also covers the headers", b.HTTPReadHeaderTimeout, b.HTTPReadTimeout))
	}
	if b.DBMaxConns < 2 {
		errs = append(errs, fmt.Errorf("COPNET_DB_MAX_CONNS %d is too small: each service needs a pool connection and a listening one", b.DBMaxConns))
	}
	if b.StreamMaxAge < time.Hour {
		errs = append(errs, fmt.Errorf("COPNET_STREAM_MAX_AGE %s is shorter than an hour", b.StreamMaxAge))
	}
	if err := b.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// HTTPServer is the HTTP server's configuration from these settings.
func (b Base) HTTPServer() httpx.ServerConfig {
	return httpx.ServerConfig{
		Addr:              b.HTTPAddr,
		ReadHeaderTimeout: b.HTTPReadHeaderTimeout,
		ReadTimeout:       b.HTTPReadTimeout,
		WriteTimeout:      b.HTTPWriteTimeout,
		IdleTimeout:       b.HTTPIdleTimeout,
		DBAcquireTimeout:  b.DBAcquireTimeout,
	}
}

// RequireSplit reports the settings a service running as its own process cannot do without.
func (b Base) RequireSplit() error {
	var errs []error
	if b.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required"))
	}
	if b.NATSURL == "" {
		errs = append(errs, errors.New("COPNET_NATS_URL is required"))
	}
	if len(b.AuthSecret) < 16 {
		errs = append(errs, errors.New("COPNET_AUTH_SECRET is required (at least 16 characters)"))
	}
	return errors.Join(errs...)
}

// ValidToken reports whether s can stand as one token of a NATS subject and a JetStream domain.
func ValidToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Validator is implemented by configs with rules beyond "present and parsable".
type Validator interface{ Validate() error }

// Load fills spec (a pointer to a struct whose fields carry `envconfig` tags, with shared
// parts embedded) from the environment. Unlike envconfig.Process it does not stop at the
// first problem: it reports every missing or unparsable variable, then spec's own Validate.
func Load(spec any) error {
	v := reflect.ValueOf(spec)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return errors.New("config: Load needs a pointer to a struct")
	}
	var errs []error
	for _, f := range leafFields(v.Elem().Type()) {
		if err := envconfig.Process("", single(f)); err != nil {
			errs = append(errs, describe(f, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n%w", errors.Join(errs...))
	}
	if err := envconfig.Process("", spec); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	if val, ok := spec.(Validator); ok {
		if err := val.Validate(); err != nil {
			return fmt.Errorf("invalid configuration:\n%w", err)
		}
	}
	return nil
}

// leafFields lists the tagged fields of t, descending into embedded structs, which is where
// the shared Base lives.
func leafFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("ignored") == "true" {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, leafFields(f.Type)...)
			continue
		}
		if f.Tag.Get("envconfig") != "" {
			out = append(out, f)
		}
	}
	return out
}

// single builds a one-field struct so envconfig can check that field alone.
func single(f reflect.StructField) any {
	f.Index = nil
	f.Offset = 0
	f.Anonymous = false
	return reflect.New(reflect.StructOf([]reflect.StructField{f})).Interface()
}

func describe(f reflect.StructField, err error) error {
	name := f.Tag.Get("envconfig")
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: cannot parse %q as %s", name, pe.Value, pe.TypeName)
	}
	if strings.Contains(err.Error(), "required key") {
		return fmt.Errorf("%s is required", name)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Vars lists every environment variable spec reads, with whether it is required. The
// compose-file test uses it to prove each service is given what its config needs.
func Vars(spec any) map[string]bool {
	t := reflect.TypeOf(spec)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	for _, f := range leafFields(t) {
		out[f.Tag.Get("envconfig")] = f.Tag.Get("required") == "true"
	}
	return out
}
