package app

import (
	"context"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
)

// IdentityTx is the part of a unit of work that concerns sign-in and grants.
type IdentityTx interface {
	// Grants lists what person holds now: grants given as data, and their memberships'
	// (member, working group, coordinator), in a stable order.
	Grants(ctx context.Context, person string) ([]httpx.Grant, error)
	// AddGrant gives a grant; false when the person already held it.
	AddGrant(ctx context.Context, person string, g httpx.Grant, by string, now time.Time) (bool, error)
	// RemoveGrant withdraws a grant given as data; false when the person did not hold it.
	RemoveGrant(ctx context.Context, person string, g httpx.Grant) (bool, error)
	// HasNational reports whether anyone holds the national grant.
	HasNational(ctx context.Context) (bool, error)

	// AddSigninLink stores a sign-in link's hash.
	AddSigninLink(ctx context.Context, hash []byte, email, next string, now, expires time.Time) error
	// UseSigninLink spends a link: ok is false when it is unknown, used or expired.
	UseSigninLink(ctx context.Context, hash []byte, now time.Time) (email, next string, ok bool, err error)
	// SetupUsed reports whether a setup ticket was redeemed.
	SetupUsed(ctx context.Context, id string) (bool, error)
	// UseSetup records a setup ticket's redemption; false when it was redeemed before.
	UseSetup(ctx context.Context, id string, expires time.Time) (bool, error)

	// AddSession stores a session's hash.
	AddSession(ctx context.Context, hash []byte, person, method string, now, expires time.Time) error
	// TouchSession finds a live session (not ended, not past its expiry, used within idle)
	// and records its use.
	TouchSession(ctx context.Context, hash []byte, now time.Time, idle time.Duration) (string, bool, error)
	// EndSession ends one session; EndSessions every session of a person.
	EndSession(ctx context.Context, hash []byte, now time.Time) error
	EndSessions(ctx context.Context, person string, now time.Time) error

	// InvitationWaits reports whether an invitation to email is open.
	InvitationWaits(ctx context.Context, email string, now time.Time) (bool, error)

	// QueueMail queues a mail that is sent once this unit of work commits.
	QueueMail(ctx context.Context, m Mail) error
}
