package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/events"
)

// Dead-letter headers, next to the original ce-* headers.
const (
	HeaderDLReason    = "copnet-dl-reason"
	HeaderDLHandler   = "copnet-dl-handler"
	HeaderDLDelivered = "copnet-dl-delivered"
	HeaderDLSubject   = "copnet-dl-subject"
	HeaderDLTime      = "copnet-dl-time"
)

// deadLetterMiddleware sits outside retry: what still fails after the in-process retries is
// parked in the dead-letter stream with its reason, handler and delivery count, and then
// acknowledged so the consumer moves on. If the dead-letter stream itself cannot take it,
// the error stands and JetStream redelivers later.
func (b *Bus) deadLetterMiddleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil {
			return out, nil
		}
		if msg.Context().Err() != nil {
			// Shutting down (or the ack wait ran out): the event did not fail, it was
			// interrupted. Leave it unacknowledged so JetStream delivers it again.
			return nil, err
		}
		durable := message.HandlerNameFromCtx(msg.Context())
		if dlErr := b.deadLetter(msg, durable, err); dlErr != nil {
			return nil, errors.Join(err, dlErr)
		}
		b.cfg.Logger.WarnContext(msg.Context(), "event dead-lettered",
			"handler", durable, "event_id", msg.UUID, "reason", err.Error())
		return nil, nil
	}
}

func (b *Bus) deadLetter(msg *message.Message, durable string, cause error) error {
	nc, err := b.deadLetterConn()
	if err != nil {
		return err
	}
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	m := nats.NewMsg("deadletter." + b.cfg.NodeID + "." + durable)
	m.Data = msg.Payload
	for k, v := range msg.Metadata {
		switch {
		case k == MetaSubject || k == MetaDelivered || k == MetaStreamSeq:
		case strings.HasPrefix(strings.ToLower(k), "nats-"):
			// Headers JetStream owns (Nats-Stream-Source on a sourced event, expectations)
			// are refused on a new publish; the event's own ce-* headers are what matter.
		default:
			m.Header.Set(k, v)
		}
	}
	m.Header.Set(HeaderDLReason, cause.Error())
	m.Header.Set(HeaderDLHandler, durable)
	m.Header.Set(HeaderDLDelivered, msg.Metadata.Get(MetaDelivered))
	m.Header.Set(HeaderDLSubject, msg.Metadata.Get(MetaSubject))
	m.Header.Set(HeaderDLTime, time.Now().UTC().Format(time.RFC3339Nano))
	// One dead letter per (stored message, handler), even when a crash between parking and
	// acking repeats the publish.
	m.Header.Set(nats.MsgIdHdr, deadLetterMsgID(msg, durable))
	if _, err := js.PublishMsg(m); err != nil {
		return fmt.Errorf("dead-letter %s for %s: %w", msg.UUID, durable, err)
	}
	return nil
}

// deadLetterMsgID keys the dead letter on the stored message's stream sequence, which every
// redelivery of it repeats. Neither the watermill UUID nor ce-id is a safe key: a message
// from outside watermill may carry neither (then all such dead letters would share one id,
// and all but the first would be dropped as duplicates, then acked, and lost), and a forged
// message can copy a real event's.
func deadLetterMsgID(msg *message.Message, durable string) string {
	if seq := msg.Metadata.Get(MetaStreamSeq); seq != "" {
		return durable + ":seq:" + seq
	}
	if id := msg.Metadata.Get(events.HeaderID); id != "" {
		return durable + ":id:" + id
	}
	return durable + ":uuid:" + msg.UUID
}

func (b *Bus) deadLetterConn() (*nats.Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dlConn != nil {
		return b.dlConn, nil
	}
	nc, err := b.connect("copnet-deadletter")
	if err != nil {
		return nil, err
	}
	b.dlConn = nc
	b.closers = append(b.closers, func() error { nc.Close(); return nil })
	return nc, nil
}

// DeadLetter is one parked event as an operator sees it.
type DeadLetter struct {
	Seq       uint64    `json:"seq"`
	Handler   string    `json:"handler"`
	Reason    string    `json:"reason"`
	Delivered int       `json:"delivered"`
	Subject   string    `json:"subject"`
	EventID   string    `json:"event_id"`
	EventType string    `json:"event_type"`
	Source    string    `json:"source"`
	At        time.Time `json:"at"`
	Payload   string    `json:"payload"`
}

// DeadLetters lists up to limit parked events, oldest first.
func (b *Bus) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	nc, err := b.deadLetterConn()
	if err != nil {
		return nil, err
	}
	js, err := nc.JetStream(nats.Context(ctx))
	if err != nil {
		return nil, err
	}
	info, err := js.StreamInfo(b.cfg.DeadLetterStream)
	if err != nil {
		return nil, fmt.Errorf("dead-letter stream: %w", err)
	}
	out := []DeadLetter{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0 && len(out) < limit; seq++ {
		raw, err := js.GetMsg(b.cfg.DeadLetterStream, seq)
		if errors.Is(err, nats.ErrMsgNotFound) {
			continue // replayed and deleted
		}
		if err != nil {
			return nil, err
		}
		out = append(out, toDeadLetter(raw))
	}
	return out, nil
}

func toDeadLetter(raw *nats.RawStreamMsg) DeadLetter {
	h := raw.Header
	delivered, _ := strconv.Atoi(h.Get(HeaderDLDelivered))
	at, _ := time.Parse(time.RFC3339Nano, h.Get(HeaderDLTime))
	return DeadLetter{
		Seq: raw.Sequence, Handler: h.Get(HeaderDLHandler), Reason: h.Get(HeaderDLReason),
		Delivered: delivered, Subject: h.Get(HeaderDLSubject), EventID: h.Get(events.HeaderID),
		EventType: h.Get(events.HeaderType), Source: events.NodeOfSource(h.Get(events.HeaderSource)), At: at,
		Payload: string(raw.Data),
	}
}

// ErrNoSuchDeadLetter is returned by Replay for an unknown sequence.
var ErrNoSuchDeadLetter = errors.New("no such dead letter")

// Replay runs the dead letter at seq through its handler again (after, say, a fix was
// deployed). On success the dead letter is removed; on failure it stays, with the error.
func (b *Bus) Replay(ctx context.Context, seq uint64) error {
	nc, err := b.deadLetterConn()
	if err != nil {
		return err
	}
	js, err := nc.JetStream(nats.Context(ctx))
	if err != nil {
		return err
	}
	raw, err := js.GetMsg(b.cfg.DeadLetterStream, seq)
	if errors.Is(err, nats.ErrMsgNotFound) {
		return ErrNoSuchDeadLetter
	}
	if err != nil {
		return err
	}
	dl := toDeadLetter(raw)
	b.mu.Lock()
	h := b.handlers[dl.Handler]
	b.mu.Unlock()
	if h == nil {
		return fmt.Errorf("handler %q does not run in this process", dl.Handler)
	}
	msg := message.NewMessage(dl.EventID, raw.Data)
	for k, v := range raw.Header {
		if len(v) > 0 {
			msg.Metadata.Set(k, v[0])
		}
	}
	msg.Metadata.Set(MetaSubject, dl.Subject)
	msg.SetContext(ctx)
	if err := applyRecovering(h, msg); err != nil {
		return fmt.Errorf("replay %d: %w", seq, err)
	}
	return js.DeleteMsg(b.cfg.DeadLetterStream, seq)
}

// applyRecovering runs h outside the router, where no Recoverer middleware guards it: a
// handler that still panics must fail the replay, not the operator's process.
func applyRecovering(h *handler, msg *message.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in handler %s: %v", h.durable, r)
		}
	}()
	return h.apply(msg)
}
