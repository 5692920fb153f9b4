// Package app is everything the notify service's ports may ask of it: people's
// preferences, unsubscribing, the dead letters, and the reactions to other services'
// events that decide who is told what.
package app

import (
	"context"
	"time"

	"github.com/copnet/copnet/pkg/events"
)

// Repository is what the application needs of storage. A change made while ctx carries a
// transaction (a consumed event's) joins it, so a decision and its mail commit together.
type Repository interface {
	ErasePerson(ctx context.Context, person string) error
}

// Settings are the application's knobs.
type Settings struct {
	Now func() time.Time
	// ReminderLead is how long before a session its members are reminded.
	ReminderLead time.Duration
	// PublicURL is the node's base URL, for the links in mail.
	PublicURL string
	// Secret is the node's secret; unsubscribe links are signed with a key derived from it.
	Secret []byte
	// MailQueued wakes the mail worker after a commit that queued mail.
	MailQueued func()
}

// Application is the notify service's use cases.
type Application struct {
	repo Repository
	s    Settings
}

// New returns the application over repo.
func New(repo Repository, s Settings) *Application {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.MailQueued == nil {
		s.MailQueued = func() {}
	}
	return &Application{repo: repo, s: s}
}

// OnPersonErased scrubs the person: contact details, preferences, roles, notices, mail.
func (a *Application) OnPersonErased(ctx context.Context, ev events.PersonErased, _ events.Envelope) error {
	return a.repo.ErasePerson(ctx, ev.PersonID)
}

// SendDue queues due reminders and digests.
func (a *Application) SendDue(ctx context.Context) error { return nil }
