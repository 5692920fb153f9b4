package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/feedback/domain"
)

// CreateDeck stores a deck and its questions, each an open poll published as poll_opened,
// in one transaction: a deck is never half there.
func (r *Repository) CreateDeck(ctx context.Context, d *domain.Deck, polls []*domain.Poll) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		d.PollIDs = make([]string, len(polls))
		for i, p := range polls {
			opened, err := r.insertPoll(ctx, tx, p)
			if err != nil {
				return err
			}
			if !opened {
				return fmt.Errorf("deck %s: poll %s was not stored", d.ID, p.ID)
			}
			if err := r.outbox.Publish(ctx, tx, openedEvent(p)); err != nil {
				return err
			}
			d.PollIDs[i] = p.ID
		}
		if err := insertDeck(ctx, tx, d); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO deck_polls (deck_id, position, poll_id)
			SELECT $1, n - 1, id FROM unnest($2::text[]) WITH ORDINALITY AS u (id, n)`, d.ID, d.PollIDs)
		return err
	})
}

// insertDeck stores d under a fresh room code that no deck and no poll has: a room code
// names one thing whichever way it is looked up.
func insertDeck(ctx context.Context, tx pgx.Tx, d *domain.Deck) error {
	for range 10 {
		d.Code = newCode()
		tag, err := tx.Exec(ctx, `INSERT INTO decks (id, code, cop_id, title, current, created_at)
			SELECT $1, $2, $3, $4, 0, $5 WHERE NOT EXISTS (SELECT 1 FROM polls WHERE code = $2)
			ON CONFLICT DO NOTHING`, d.ID, d.Code, d.CoPID, d.Title, d.CreatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
	}
	return errors.New("no free deck code after 10 tries")
}

const deckColumns = `id, code, cop_id, title, current, created_at, closed_at,
	ARRAY(SELECT poll_id FROM deck_polls WHERE deck_id = decks.id ORDER BY position)`

func scanDeck(row pgx.Row) (*domain.Deck, error) {
	var d domain.Deck
	err := row.Scan(&d.ID, &d.Code, &d.CoPID, &d.Title, &d.Current, &d.CreatedAt, &d.ClosedAt, &d.PollIDs)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// Deck loads one deck.
func (r *Repository) Deck(ctx context.Context, id string) (*domain.Deck, error) {
	d, err := scanDeck(r.pool.QueryRow(ctx, "SELECT "+deckColumns+" FROM decks WHERE id = $1", id))
	return d, notFound(err, "deck %q does not exist", id)
}

// DeckByCode loads the deck a room follows under code.
func (r *Repository) DeckByCode(ctx context.Context, code string) (*domain.Deck, error) {
	d, err := scanDeck(r.pool.QueryRow(ctx, "SELECT "+deckColumns+" FROM decks WHERE code = $1", code))
	return d, notFound(err, "no deck has code %q", code)
}

// DecksOf lists a CoP's decks, newest first.
func (r *Repository) DecksOf(ctx context.Context, cop string) ([]*domain.Deck, error) {
	rows, err := r.pool.Query(ctx, "SELECT "+deckColumns+" FROM decks WHERE cop_id = $1 ORDER BY created_at DESC, id LIMIT 200", cop)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*domain.Deck{}
	for rows.Next() {
		d, err := scanDeck(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeckOfPoll returns the id of the deck a poll belongs to, or "" when it is a poll alone.
func (r *Repository) DeckOfPoll(ctx context.Context, poll string) (string, error) {
	var id string
	err := r.pool.QueryRow(ctx, `SELECT deck_id FROM deck_polls WHERE poll_id = $1`, poll).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// MoveDeck shows the question at position to the room.
func (r *Repository) MoveDeck(ctx context.Context, id string, position int) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		var n int
		var closed *time.Time
		err := tx.QueryRow(ctx, `SELECT closed_at, (SELECT count(*) FROM deck_polls WHERE deck_id = $1)
			FROM decks WHERE id = $1 FOR UPDATE`, id).Scan(&closed, &n)
		if err != nil {
			return notFound(err, "deck %q does not exist", id)
		}
		if closed != nil {
			return apperr.Conflict("the deck is closed")
		}
		if position < 0 || position >= n {
			return apperr.Invalid("position", fmt.Sprintf("must be from 0 to %d", n-1))
		}
		_, err = tx.Exec(ctx, `UPDATE decks SET current = $2 WHERE id = $1`, id, position)
		return err
	})
}

// MarkDeckClosed records that the presenter closed the deck (its polls are closed one by
// one before, each in its own transaction with its results).
func (r *Repository) MarkDeckClosed(ctx context.Context, id string, now time.Time) error {
	tag, err := r.pool.Exec(ctx, `UPDATE decks SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL`, id, now)
	if err == nil && tag.RowsAffected() == 0 {
		return apperr.Conflict("the deck is already closed")
	}
	return err
}

// AnswerCount is how many answers the poll holds, sealed or opened: a number the room
// sees grow, which says nothing about any answer.
func (r *Repository) AnswerCount(ctx context.Context, poll string) (int, error) {
	var n int
	err := r.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sealed_responses WHERE poll_id = $1)
		+ (SELECT count(*) FROM responses WHERE poll_id = $1)`, poll).Scan(&n)
	return n, err
}

// Listen calls wake each time a transaction that may change a live presentation commits
// (migration 003's triggers), until ctx ends or the connection fails. It calls wake once
// when it starts listening, since whatever happened before was not heard.
func (r *Repository) Listen(ctx context.Context, wake func()) error {
	pooled, err := r.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection that listened is not given back to the pool: its LISTEN would outlive
	// this call.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing a connection we drop
	if _, err := conn.Exec(ctx, "LISTEN feedback_live"); err != nil {
		return err
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
