package app

import (
	"context"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/mail"
	"github.com/copnet/copnet/services/notify/domain"
)

// Preference is one kind of notice and how often the person wants it.
type Preference struct {
	Kind    domain.Kind    `json:"kind"`
	Title   string         `json:"title"`
	Cadence domain.Cadence `json:"cadence"`
}

// Preferences lists the caller's cadence for every kind.
func (a *Application) Preferences(ctx context.Context, c httpx.Claims) ([]Preference, error) {
	if !c.Signed() {
		return nil, apperr.Unauthenticated("sign in to see your notification settings")
	}
	prefs, err := a.repo.Preferences(ctx, c.Subject)
	if err != nil {
		return nil, err
	}
	out := make([]Preference, 0, len(domain.Kinds))
	for _, k := range domain.Kinds {
		out = append(out, Preference{Kind: k, Title: domain.Titles[k], Cadence: prefs[k]})
	}
	return out, nil
}

// SetPreferences stores the caller's cadences (already checked by the decoder).
func (a *Application) SetPreferences(ctx context.Context, c httpx.Claims, prefs map[domain.Kind]domain.Cadence) ([]Preference, error) {
	if !c.Signed() {
		return nil, apperr.Unauthenticated("sign in to change your notification settings")
	}
	if err := a.repo.SetPreferences(ctx, c.Subject, prefs); err != nil {
		return nil, err
	}
	return a.Preferences(ctx, c)
}

// Unsubscribe turns off the one kind the token names, for the one person it names: no
// sign-in, and nothing else it can do.
func (a *Application) Unsubscribe(ctx context.Context, token string) (domain.Kind, error) {
	person, kind, err := a.unsub.Check(token)
	if err != nil {
		return "", apperr.Invalid("token", err.Error())
	}
	return kind, a.repo.SetPreferences(ctx, person, map[domain.Kind]domain.Cadence{kind: domain.Off})
}

// CheckUnsubscribe names the kind a token would turn off, for the page that asks first.
func (a *Application) CheckUnsubscribe(token string) (domain.Kind, error) {
	_, kind, err := a.unsub.Check(token)
	if err != nil {
		return "", apperr.Invalid("token", err.Error())
	}
	return kind, nil
}

// UnconfirmedGrace is how long a mail recorded sent may wait for the server's confirmation
// before it is listed among the dead letters.
const UnconfirmedGrace = 5 * time.Minute

// DeadLetters lists mail given up, for national administrators.
func (a *Application) DeadLetters(ctx context.Context, c httpx.Claims) ([]mail.DeadLetter, error) {
	if !c.IsNational() {
		return nil, apperr.Forbidden("only national administrators see the dead letters")
	}
	return mail.DeadLetters(ctx, a.repo.Pool(), UnconfirmedGrace, 200)
}

// Retry makes a dead letter due again.
func (a *Application) Retry(ctx context.Context, c httpx.Claims, id int64) error {
	if !c.IsNational() {
		return apperr.Forbidden("only national administrators retry dead letters")
	}
	if err := mail.Retry(ctx, a.repo.Pool(), id); err != nil {
		return err
	}
	a.s.MailQueued()
	return nil
}
