package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/copnet/copnet/pkg/correlation"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
)

// PermanentError marks a failure that no retry can mend (a payload that breaks its schema,
// a forged origin); it goes to the dead-letter stream at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsPermanent reports whether err, or anything it wraps, is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// HandlerFunc applies one event inside tx, the transaction that also records the event as
// processed (and may carry outbox events the handler publishes).
type HandlerFunc[E events.Event] func(ctx context.Context, tx pgx.Tx, ev E, env events.Envelope) error

// handler is a registered consumer: what to subscribe to and how to apply a message. Replay
// of dead letters runs the same apply.
type handler struct {
	service string
	durable string
	filter  string
	apply   func(msg *message.Message) error
	// sub is bound to this handler's durable alone. Handlers of one service may share an
	// event type, hence a filter, so the durable cannot be derived from the topic.
	sub *Subscriber
}

// Router runs one service's event handlers. Each handler has its own durable consumer.
type Router struct {
	bus      *Bus
	service  string
	pool     *pgxpool.Pool
	router   *message.Router
	handlers []*handler
}

// NewRouter returns the router of service, whose handlers record processed events in pool.
func (b *Bus) NewRouter(service string, pool *pgxpool.Pool) (*Router, error) {
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: b.cfg.AckWait}, b.wmLog)
	if err != nil {
		return nil, err
	}
	rt := &Router{bus: b, service: service, pool: pool, router: r}
	b.mu.Lock()
	b.routers = append(b.routers, rt)
	b.mu.Unlock()
	// Outermost first: tracing and correlation, then dead-lettering outside retry, and
	// the recoverer innermost so a panic is an ordinary error to retry and dead-letter.
	r.AddMiddleware(
		b.traceMiddleware,
		b.deadLetterMiddleware,
		middleware.Retry{
			MaxRetries:      b.cfg.Retries,
			InitialInterval: 50 * time.Millisecond,
			MaxInterval:     time.Second,
			Multiplier:      2,
			MaxElapsedTime:  b.cfg.AckWait / 3,
			ShouldRetry:     func(p middleware.RetryParams) bool { return !IsPermanent(p.Err) },
			Logger:          b.wmLog,
		}.Middleware,
		middleware.Recoverer,
	)
	return rt, nil
}

// EventFunc applies one event. The consumer's transaction travels in ctx (postgres.WithTx),
// so a repository called with ctx joins it: the change, its outbox rows and the record of
// the processed event id commit together, and the app layer never holds a pgx.Tx.
type EventFunc[E events.Event] func(ctx context.Context, ev E, env events.Envelope) error

// On registers an app's On<Event> method for events of type E from any node: the shape
// every service uses (bus → app.On<Event> → repository). name is the handler's contract
// name, as for Handle.
func On[E events.Event](r *Router, name string, fn EventFunc[E]) {
	Handle(r, name, func(ctx context.Context, tx pgx.Tx, ev E, env events.Envelope) error {
		return fn(postgres.WithTx(ctx, tx), ev, env)
	})
}

// Handle registers fn for events of type E from any node. name is the handler's contract
// name (its durable consumer is "<service>_<name>"): rename it and the stream replays.
func Handle[E events.Event](r *Router, name string, fn HandlerFunc[E]) {
	var zero E
	evName := zero.EventName()
	durable := DurableName(r.service + "_" + name)
	h := &handler{service: r.service, durable: durable, filter: evName.Filter()}
	h.sub = r.bus.NewSubscriber(r.bus.cfg.Stream, func(string) string { return durable })
	h.apply = func(msg *message.Message) error {
		ctx := msg.Context()
		env, err := r.bus.envelopeOf(msg)
		if err != nil {
			return err
		}
		if env.Type != evName.Type() {
			return Permanent(fmt.Errorf("handler %s takes %s, got %s", durable, evName.Type(), env.Type))
		}
		var ev E
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return Permanent(fmt.Errorf("decode %s: %w", env.Type, err))
		}
		return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
			fresh, err := postgres.MarkProcessed(ctx, tx, durable, env.ID)
			if err != nil || !fresh {
				return err // a redelivery of an applied event is normal, not an error
			}
			return fn(ctx, tx, ev, env)
		})
	}
	r.bus.mu.Lock()
	r.bus.handlers[durable] = h
	r.bus.mu.Unlock()
	r.handlers = append(r.handlers, h)
	r.router.AddConsumerHandler(durable, h.filter, h.sub, h.apply)
}

// AnyFunc applies one event of any type: its envelope and its JSON payload, already checked
// against the schema of its type. The consumer's transaction travels in ctx, as for On.
type AnyFunc func(ctx context.Context, payload json.RawMessage, env events.Envelope) error

// OnAny registers fn for every event in the stream, of any type and from any node, for a
// consumer that forwards events it does not interpret (notify's webhooks). Each event is
// applied once, like On's.
func OnAny(r *Router, name string, fn AnyFunc) {
	durable := DurableName(r.service + "_" + name)
	h := &handler{service: r.service, durable: durable, filter: events.SubjectRoot + ".>"}
	h.sub = r.bus.NewSubscriber(r.bus.cfg.Stream, func(string) string { return durable })
	h.apply = func(msg *message.Message) error {
		ctx := msg.Context()
		env, err := r.bus.envelopeOf(msg)
		if err != nil {
			return err
		}
		return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
			fresh, err := postgres.MarkProcessed(ctx, tx, durable, env.ID)
			if err != nil || !fresh {
				return err
			}
			return fn(postgres.WithTx(ctx, tx), json.RawMessage(msg.Payload), env)
		})
	}
	r.bus.mu.Lock()
	r.bus.handlers[durable] = h
	r.bus.mu.Unlock()
	r.handlers = append(r.handlers, h)
	r.router.AddConsumerHandler(durable, h.filter, h.sub, h.apply)
}

// envelopeOf reads a message's envelope and checks what every handler relies on: the origin
// in ce-source is the subject's, and the payload keeps its type's schema. A failure is
// permanent: no retry mends it.
func (b *Bus) envelopeOf(msg *message.Message) (events.Envelope, error) {
	env, err := events.ParseEnvelope(msg.Metadata)
	if err != nil {
		return env, Permanent(err)
	}
	if origin := events.OriginOf(msg.Metadata.Get(MetaSubject)); origin != env.Source {
		return env, Permanent(fmt.Errorf("ce-source %q does not match subject origin %q", env.Source, origin))
	}
	if err := b.schemas.Validate(env.Type, msg.Payload); err != nil {
		return env, Permanent(err)
	}
	return env, nil
}

// Run provisions every handler's durable consumer and consumes until ctx ends; in-flight
// messages finish (or are left unacked for redelivery) before it returns.
func (r *Router) Run(ctx context.Context) error {
	// Each handler's subscriber provisions its durable consumer before binding to it, and
	// keeps trying while the broker is away.
	go func() {
		<-ctx.Done()
		r.router.Close() //nolint:errcheck // shutting down
	}()
	return r.router.Run(ctx)
}

// Running is closed once every handler is subscribed.
func (r *Router) Running() chan struct{} { return r.router.Running() }

// traceContext is the W3C propagator. The envelope's contract is the traceparent header, so
// the bus uses it whatever global propagator the process configured (or forgot to).
var traceContext = propagation.TraceContext{}

// traceMiddleware continues the producer's trace and carries correlation_id into the
// handler's context, so events the handler publishes stay on the same trace.
func (b *Bus) traceMiddleware(h message.HandlerFunc) message.HandlerFunc {
	tracer := otel.Tracer("github.com/copnet/copnet/pkg/bus")
	return func(msg *message.Message) ([]*message.Message, error) {
		ctx := traceContext.Extract(msg.Context(), propagation.MapCarrier(msg.Metadata))
		ctx, span := tracer.Start(ctx, "consume "+message.HandlerNameFromCtx(msg.Context()),
			trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(
				attribute.String("messaging.system", "nats"),
				attribute.String("messaging.destination.name", msg.Metadata.Get(MetaSubject)),
				attribute.String("messaging.message.id", msg.UUID),
			))
		defer span.End()
		if id := msg.Metadata.Get(events.HeaderCorrelationID); id != "" {
			ctx = correlation.With(ctx, id)
		}
		msg.SetContext(ctx)
		out, err := h(msg)
		if err != nil {
			span.RecordError(err)
		}
		return out, err
	}
}
