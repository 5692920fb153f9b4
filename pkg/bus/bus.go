// Package bus is copnet's event plumbing: JetStream streams and durable consumers that our
// code provisions, a transactional outbox forwarded to JetStream by watermill, consumers that
// apply each event exactly once in effect, and a dead-letter stream an operator can replay.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/metric"

	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/events"
)

// Stream names at every node. The same names at every tier keep federation uniform: a
// parent's COPNET sources each child's COPNET across JetStream domains.
const (
	DefaultStream           = "COPNET"
	DefaultDeadLetterStream = "COPNET_DEADLETTER"
)

// Connector opens a NATS connection. The all-in-one connects in-process to its embedded
// server; split services dial a URL. Every component gets its own connection because the
// watermill subscriber drains its connection when it closes.
type Connector func(name string) (*nats.Conn, error)

// URLConnector dials url and keeps reconnecting for as long as the process lives: a broker
// restart must never lose the service's subscriptions.
func URLConnector(url string, opts ...nats.Option) Connector {
	return func(name string) (*nats.Conn, error) {
		return nats.Connect(url, append(ReconnectOptions(name), opts...)...)
	}
}

// ReconnectOptions are the connection options every copnet client uses.
func ReconnectOptions(name string) []nats.Option {
	return []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1), // fail publishes fast while disconnected; the outbox retries them
		// Registering a child node reloads the server's accounts, which can refuse a
		// reconnect for a moment; by default nats.go would then give up for good.
		nats.IgnoreAuthErrorAbort(),
	}
}

// Config of the bus at one node. Zero values take the documented defaults.
type Config struct {
	// NodeID is the origin token of every subject this node publishes.
	NodeID string
	// Stream holds this node's events and sources its children's (default COPNET).
	Stream string
	// DeadLetterStream keeps events no handler could apply (default COPNET_DEADLETTER).
	DeadLetterStream string
	// MaxAge bounds how long events stay in the origin stream; it must outlast the worst
	// outage between a node and its parent (default 30 days).
	MaxAge time.Duration
	// AckWait is how long JetStream waits for an ack before redelivering (default 30s).
	AckWait time.Duration
	// MaxDeliver bounds redeliveries of one event to one durable consumer (default 8).
	MaxDeliver int
	// Backoff spaces JetStream redeliveries (default AckWait ×1, ×2, ×10, ×30). JetStream
	// takes its first step as the ack wait, so it must not be shorter than a slow handler.
	Backoff []time.Duration
	// Retries are in-process attempts per delivery, bounded well under AckWait (default 3).
	Retries int
	// OutboxPoll is how often the forwarder looks for committed outbox rows when no commit
	// woke it (default 1s): every commit with events notifies the forwarder (LISTEN/NOTIFY),
	// so this is only the safety net for a missed notification.
	OutboxPoll time.Duration
	// Logger receives bus logs (default slog.Default()).
	Logger *slog.Logger
	// Now stamps each event's ce-time (default time.Now): the same clock the services
	// decide with, so an event's time and the times in its payload agree.
	Now func() time.Time
	// Meter receives the backlog gauges (default: the global OpenTelemetry meter provider,
	// which telemetry.Setup points at the process's /metrics).
	Meter metric.Meter
}

// SetDefaults fills zero values.
func (c *Config) SetDefaults() {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.DeadLetterStream == "" {
		c.DeadLetterStream = DefaultDeadLetterStream
	}
	if c.MaxAge == 0 {
		c.MaxAge = 30 * 24 * time.Hour
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 8
	}
	// Empty, not just nil: the subscriber naks with the first step, so none is no option.
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{c.AckWait, 2 * c.AckWait, 10 * c.AckWait, 30 * c.AckWait}
	}
	if c.Retries == 0 {
		c.Retries = 3
	}
	if c.OutboxPoll == 0 {
		c.OutboxPoll = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if !config.ValidToken(c.NodeID) {
		errs = append(errs, fmt.Errorf("bus: node id %q is not a valid subject token", c.NodeID))
	}
	if c.MaxDeliver <= len(c.Backoff) {
		errs = append(errs, fmt.Errorf("bus: MaxDeliver (%d) must exceed the number of back-off steps (%d)", c.MaxDeliver, len(c.Backoff)))
	}
	if c.Retries < 0 {
		errs = append(errs, errors.New("bus: Retries must not be negative"))
	}
	return errors.Join(errs...)
}

// Bus is one node's event plumbing, shared by every service in the process.
type Bus struct {
	cfg     Config
	connect Connector
	schemas *events.Schemas
	wmLog   watermill.LoggerAdapter

	mu       sync.Mutex
	handlers map[string]*handler
	routers  []*Router
	closers  []func() error
	dlConn   *nats.Conn
	outboxes map[string]*pgxpool.Pool
}

// New builds the bus. Call Provision before the first service starts.
func New(cfg Config, connect Connector) (*Bus, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Bus{
		cfg:     cfg,
		connect: connect,
		schemas: events.DefaultSchemas(),
		// watermill logs every subscriber start and schema query at Info; that is our Debug.
		wmLog: shutdownQuiet{watermill.NewSlogLoggerWithLevelMapping(cfg.Logger, map[slog.Level]slog.Level{
			slog.LevelInfo: slog.LevelDebug,
		})},
		handlers: map[string]*handler{},
	}
	if err := b.registerMetrics(); err != nil {
		return nil, fmt.Errorf("bus: metrics: %w", err)
	}
	return b, nil
}

// Config returns the bus settings after defaults.
func (b *Bus) Config() Config { return b.cfg }

// NodeID is the origin token this node publishes under.
func (b *Bus) NodeID() string { return b.cfg.NodeID }

// Connect opens a new connection through the bus's connector.
func (b *Bus) Connect(name string) (*nats.Conn, error) { return b.connect(name) }

// Close releases connections the bus opened itself. Routers and forwarders close with
// their contexts.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	b.closers = nil
	return errors.Join(errs...)
}

// DurableName turns a handler name into a JetStream durable name. The name is part of the
// contract: renaming a handler creates a new durable, which replays the stream.
func DurableName(handler string) string {
	return strings.NewReplacer(".", "_", "*", "_", ">", "_", " ", "_").Replace(handler)
}

// shutdownQuiet lowers watermill's errors that only say a context was cancelled (the outbox
// poller and subscribers stopping on shutdown) to debug: an operator reading ERROR lines
// should see failures, not a clean stop.
type shutdownQuiet struct{ watermill.LoggerAdapter }

func (q shutdownQuiet) Error(msg string, err error, fields watermill.LogFields) {
	if errors.Is(err, context.Canceled) {
		q.Debug(msg+": "+err.Error(), fields)
		return
	}
	q.LoggerAdapter.Error(msg, err, fields)
}

func (q shutdownQuiet) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return shutdownQuiet{q.LoggerAdapter.With(fields)}
}

// ConsumersReady reports an error naming each router whose handlers are not all subscribed
// yet: a node is not ready while it would miss none of its events but apply none either.
func (b *Bus) ConsumersReady() error {
	b.mu.Lock()
	routers := append([]*Router(nil), b.routers...)
	b.mu.Unlock()
	var waiting []string
	for _, r := range routers {
		select {
		case <-r.Running():
		default:
			waiting = append(waiting, r.service)
		}
	}
	if len(waiting) > 0 {
		return fmt.Errorf("consumers of %s are not subscribed yet", strings.Join(waiting, ", "))
	}
	return nil
}
