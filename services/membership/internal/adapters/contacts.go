package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/bus"
)

// ContactSubject is the private subject (bus.PrivateSubject) a person's contact details
// go on: private.<node>.contact.<person>. One message per person stays on the stream, the
// latest, so an erasure replaces the address there too.
func ContactSubject(b *bus.Bus, person string) string { return b.PrivateSubject("contact", person) }

// Contact is what membership shares with notify of a person on the node-private channel:
// never an event, never on the federated stream. Erased carries no name or address.
type Contact struct {
	PersonID string `json:"person_id"`
	Name     string `json:"name,omitempty"`
	Address  string `json:"address,omitempty"`
	Erased   bool   `json:"erased,omitempty"`
}

// ShareContacts publishes the contact details queued in contact_shares (a trigger on
// people queues them) and clears each queued row once the stream has stored it. A change
// made while a share is in flight stays queued and is shared again.
func ShareContacts(ctx context.Context, pool *pgxpool.Pool, b *bus.Bus, nc *nats.Conn) (int, error) {
	rows, err := pool.Query(ctx, `SELECT s.person_id, s.changed_at, coalesce(p.name, ''), coalesce(p.email, ''), p.erased_at IS NOT NULL OR p.id IS NULL
		FROM contact_shares s LEFT JOIN people p ON p.id = s.person_id ORDER BY s.changed_at LIMIT 500`)
	if err != nil {
		return 0, fmt.Errorf("contact shares: %w", err)
	}
	type share struct {
		c       Contact
		changed time.Time
	}
	shares, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (share, error) {
		var s share
		err := r.Scan(&s.c.PersonID, &s.changed, &s.c.Name, &s.c.Address, &s.c.Erased)
		if s.c.Erased {
			s.c.Name, s.c.Address = "", ""
		}
		return s, err
	})
	if err != nil {
		return 0, fmt.Errorf("contact shares: %w", err)
	}
	for i, s := range shares {
		data, err := json.Marshal(s.c)
		if err != nil {
			return i, err
		}
		msgID := fmt.Sprintf("contact-%s-%d", s.c.PersonID, s.changed.UnixMicro())
		if err := b.PublishPrivate(nc, ContactSubject(b, s.c.PersonID), data, msgID); err != nil {
			return i, err
		}
		if _, err := pool.Exec(ctx, `DELETE FROM contact_shares WHERE person_id = $1 AND changed_at = $2`, s.c.PersonID, s.changed); err != nil {
			return i, fmt.Errorf("contact shares: %w", err)
		}
	}
	return len(shares), nil
}
