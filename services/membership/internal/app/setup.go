package app

// Setup links make the first national administrator of a node, and let an operator with the
// node's data dir make another (`copnet link`) when every administrator is locked out. A
// link carries a ticket, not a token: "<payload>.<mac>", payload the base64url JSON of a
// random id and an expiry, mac HMAC-SHA256 under a key derived from the node secret for this
// purpose only. Printing one needs the secret but no database; redeeming records the id, so
// a link works once.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/domain"
)

// SetupPath is the page a setup link opens; the ticket travels as ?t=.
const SetupPath = "/setup"

// maxTicketLen bounds what is decoded from a URL: a real ticket is under a hundred bytes.
const maxTicketLen = 512

var (
	// ErrTicketInvalid is a ticket that was not made with this node's secret.
	ErrTicketInvalid = errors.New("this setup link is not valid: check that you copied all of it")
	// ErrTicketExpired is a ticket past its expiry.
	ErrTicketExpired = errors.New("this setup link has expired: run `copnet link` for a new one")
	// ErrTicketUsed is a ticket redeemed before.
	ErrTicketUsed = errors.New("this setup link has been used already: a link works once")
)

type ticket struct {
	ID      string `json:"id"`
	Expires int64  `json:"exp"`
}

func setupKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("copnet setup link v2"))
	return m.Sum(nil)
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// SetupLink returns a link to base that makes whoever opens it first, within ttl of now, a
// national administrator.
func SetupLink(secret []byte, base string, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < 16 {
		return "", errors.New("setup link: the node secret is missing")
	}
	if ttl <= 0 {
		return "", errors.New("setup link: ttl must be positive")
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)                                                                     // crypto/rand never fails on supported platforms
	raw, _ := json.Marshal(ticket{ID: hex.EncodeToString(id), Expires: now.Add(ttl).Unix()}) // cannot fail
	payload := base64.RawURLEncoding.EncodeToString(raw)
	t := payload + "." + base64.RawURLEncoding.EncodeToString(mac(setupKey(secret), payload))
	return strings.TrimRight(base, "/") + SetupPath + "?t=" + t, nil
}

// ParseTicket checks a ticket's MAC and expiry.
func ParseTicket(key []byte, s string, now time.Time) (ticket, error) {
	if len(s) > maxTicketLen {
		return ticket{}, ErrTicketInvalid
	}
	payload, sig, ok := strings.Cut(s, ".")
	if !ok {
		return ticket{}, ErrTicketInvalid
	}
	// Strict: a signature has one spelling, so a ticket has one accepted form.
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, payload)) {
		return ticket{}, ErrTicketInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ticket{}, ErrTicketInvalid
	}
	var t ticket
	if err := json.Unmarshal(raw, &t); err != nil || len(t.ID) != 32 || t.Expires == 0 {
		return ticket{}, ErrTicketInvalid
	}
	if _, err := hex.DecodeString(t.ID); err != nil {
		return ticket{}, ErrTicketInvalid
	}
	if !now.Before(time.Unix(t.Expires, 0)) {
		return ticket{}, ErrTicketExpired
	}
	return t, nil
}

// CheckSetup says whether a setup ticket can still be used, for the page that opens it.
func (id *Identity) CheckSetup(ctx context.Context, raw string) error {
	t, err := ParseTicket(id.setupKey, raw, id.app.now())
	if err != nil {
		return err
	}
	return id.app.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		used, err := tx.SetupUsed(ctx, t.ID)
		if err == nil && used {
			err = ErrTicketUsed
		}
		return nil, err
	})
}

// RedeemSetup spends a setup ticket: the person with email (registered now if new, named
// name) becomes a national administrator and is signed in.
func (id *Identity) RedeemSetup(ctx context.Context, raw, name, email string) (*Session, error) {
	a := id.app
	t, err := ParseTicket(id.setupKey, raw, a.now())
	if err != nil {
		return nil, err
	}
	p := domain.Person{Name: name, Email: email}.Normalise()
	if problems := p.Problems(""); len(problems) > 0 {
		return nil, apperr.InvalidFields(problems...)
	}
	var s *Session
	err = a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		fresh, err := tx.UseSetup(ctx, t.ID, time.Unix(t.Expires, 0))
		if err != nil {
			return nil, err
		}
		if !fresh {
			return nil, ErrTicketUsed
		}
		var evs []events.Event
		person, err := tx.PersonIDByEmail(ctx, p.Email)
		if err != nil {
			return nil, err
		}
		if person == "" {
			person = newID()
			if err := tx.AddPerson(ctx, person, p, a.now()); err != nil {
				return nil, err
			}
			evs = append(evs, events.PersonRegistered{PersonID: person})
		}
		g := httpx.Grant{Role: httpx.RoleNational}
		given, err := tx.AddGrant(ctx, person, g, "setup", a.now())
		if err != nil {
			return nil, err
		}
		if given {
			evs = append(evs, events.GrantGiven{PersonID: person, Role: string(g.Role)})
		}
		s, err = id.openSession(ctx, tx, person, "setup")
		return evs, err
	})
	return s, err
}

// NeedsSetup reports whether the node has no national administrator yet.
func (a *Application) NeedsSetup(ctx context.Context) (bool, error) {
	var none bool
	return none, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		has, err := tx.HasNational(ctx)
		none = !has
		return nil, err
	})
}
