package app

// Signing in with the organisation's OpenID provider (Entra ID, Okta, Keycloak, Google...):
// the authorization code flow with PKCE. Start keeps what the browser must bring back
// (state) and what the provider must echo (nonce) with the PKCE verifier, for ten minutes;
// Finish spends them once, has the provider's ID token verified, and signs in the person
// the provider vouches for: the one already linked to that provider account, else the one
// with the verified e-mail address it states (accounts link by verified e-mail), else a
// new account where invitations or self-registration allow one.

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/membership/domain"
)

// OIDCFlowTTL is how long a person has to sign in at the provider once sent there.
const OIDCFlowTTL = 10 * time.Minute

// OIDCProvider is the organisation's OpenID provider as signing in needs it
// (adapters.OIDC talks to a real one).
type OIDCProvider interface {
	// AuthCodeURL is where to send a browser to sign in, carrying state, nonce and the
	// S256 challenge of verifier. It fails when the provider cannot be reached.
	AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Redeem exchanges a code with its PKCE verifier and returns the claims of the ID
	// token that came with it, once its signature, issuer, audience and expiry are
	// verified. The nonce is returned, not checked: the flow knows which one it sent.
	Redeem(ctx context.Context, code, verifier string) (*OIDCClaims, error)
}

// OIDCClaims are what a verified ID token says about the person.
type OIDCClaims struct {
	Issuer, Subject, Nonce string
	// Email and EmailVerified are the email and email_verified claims.
	Email         string
	EmailVerified bool
	// Name is the person's name from the name claim, else given_name and family_name;
	// empty when the provider gives none fit to keep.
	Name string
}

// OIDCFlow is a sign-in at the provider in flight.
type OIDCFlow struct {
	Nonce, Verifier, Next string
}

// OIDCTx is the part of a unit of work that concerns OpenID Connect sign-in.
type OIDCTx interface {
	// AddOIDCFlow keeps a flow under the hash of its state until expires.
	AddOIDCFlow(ctx context.Context, stateHash []byte, f OIDCFlow, now, expires time.Time) error
	// UseOIDCFlow spends the flow of a state: nil when it is unknown, spent or expired.
	// Of two requests with one state, exactly one gets the flow.
	UseOIDCFlow(ctx context.Context, stateHash []byte, now time.Time) (*OIDCFlow, error)
	// OIDCIdentity finds the person linked to a provider account ("" when none).
	OIDCIdentity(ctx context.Context, issuer, subject string) (string, error)
	// LinkOIDCIdentity links a provider account to a person; false when it was linked
	// already (to anyone).
	LinkOIDCIdentity(ctx context.Context, issuer, subject, person string, now time.Time) (bool, error)
}

// Why an OpenID Connect sign-in did not happen. Each is worded on the sign-in page; the
// cause, when there is one to log, is wrapped.
var (
	// ErrOIDCUnavailable: no provider configured, or it could not be reached.
	ErrOIDCUnavailable = errors.New("sign-in with the organisation's account is not available")
	// ErrOIDCRefused: the sign-in at the provider did not come back as one this browser
	// started (unknown, spent, expired or forged state), or the provider refused it, or
	// what it sent did not verify (code, ID token, nonce).
	ErrOIDCRefused = errors.New("the sign-in with the organisation's account did not succeed")
	// ErrOIDCEmail: the provider states no e-mail address, or does not say it verified it.
	ErrOIDCEmail = errors.New("the organisation's account has no verified e-mail address")
)

// OIDCSignIn signs people in with one OpenID provider.
type OIDCSignIn struct {
	id       *Identity
	provider OIDCProvider
}

// OIDC returns sign-in with provider; a nil provider (none configured) refuses every
// sign-in with ErrOIDCUnavailable.
func (id *Identity) OIDC(provider OIDCProvider) *OIDCSignIn {
	return &OIDCSignIn{id: id, provider: provider}
}

// Start begins a sign-in: it returns the state, which the browser keeps too (so that only
// the browser that started can finish), and the provider URL to send the browser to.
func (o *OIDCSignIn) Start(ctx context.Context, next string) (Secret, string, error) {
	if o == nil || o.provider == nil {
		return "", "", ErrOIDCUnavailable
	}
	state, f := newSecret(), OIDCFlow{Nonce: string(newSecret()), Verifier: string(newSecret()), Next: SafeNext(next)}
	// Asking the provider first keeps a row from being stored for a sign-in that cannot
	// start; discovery happens here the first time.
	u, err := o.provider.AuthCodeURL(ctx, string(state), f.Nonce, f.Verifier)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrOIDCUnavailable, err)
	}
	a := o.id.app
	err = a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		now := a.now()
		return nil, tx.AddOIDCFlow(ctx, state.Hash(), f, now, now.Add(OIDCFlowTTL))
	})
	if err != nil {
		return "", "", err
	}
	return state, u, nil
}

// OIDCCallback is what the provider sent the browser back with: a code, or an error.
type OIDCCallback struct {
	State, Code, Error string
}

// Finish completes a sign-in the provider sent back: it spends the flow of the state
// (so a replayed callback fails), redeems the code, checks the nonce and the e-mail
// address, and opens a session for the person. next is where the person was going, known
// once the flow is, errors included.
func (o *OIDCSignIn) Finish(ctx context.Context, cb OIDCCallback) (s *Session, next string, err error) {
	if o == nil || o.provider == nil {
		return nil, "", ErrOIDCUnavailable
	}
	a := o.id.app
	var f *OIDCFlow
	err = a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		var err error
		f, err = tx.UseOIDCFlow(ctx, Secret(cb.State).Hash(), a.now())
		return nil, err
	})
	if err != nil {
		return nil, "", err
	}
	if f == nil {
		return nil, "", fmt.Errorf("%w: the state is unknown, used or expired", ErrOIDCRefused)
	}
	next = f.Next
	if cb.Error != "" {
		return nil, next, fmt.Errorf("%w: the provider answered %q", ErrOIDCRefused, cb.Error)
	}
	// The provider is asked outside any transaction: no connection waits on it.
	c, err := o.provider.Redeem(ctx, cb.Code, f.Verifier)
	if err != nil {
		return nil, next, fmt.Errorf("%w: %w", ErrOIDCRefused, err)
	}
	// The nonce ties the ID token to this flow: a token obtained for another sign-in
	// (replayed or injected) carries another one.
	if subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(f.Nonce)) != 1 {
		return nil, next, fmt.Errorf("%w: the ID token's nonce is not the one sent", ErrOIDCRefused)
	}
	if c.Subject == "" || c.Issuer == "" {
		return nil, next, fmt.Errorf("%w: the ID token names no subject", ErrOIDCRefused)
	}
	// Only an address the provider verified may link or create an account: anyone can
	// type any address into an account at many providers.
	if c.Email == "" || !c.EmailVerified || !domain.ValidEmail(c.Email) {
		return nil, next, ErrOIDCEmail
	}
	email, err := normaliseEmail(c.Email)
	if err != nil {
		return nil, next, ErrOIDCEmail
	}
	err = a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		person, err := tx.OIDCIdentity(ctx, c.Issuer, c.Subject)
		if err != nil {
			return nil, err
		}
		var evs []events.Event
		// A linked account signs in as its person whatever address the provider states
		// now: addresses change, the subject does not.
		if person == "" {
			if person, evs, err = o.id.personFor(ctx, tx, email, c.Name); err != nil {
				return nil, err
			}
			linked, err := tx.LinkOIDCIdentity(ctx, c.Issuer, c.Subject, person, a.now())
			if err != nil {
				return nil, err
			}
			if !linked {
				// Another sign-in of the same account linked it first; whom it linked
				// to is what counts.
				if person, err = tx.OIDCIdentity(ctx, c.Issuer, c.Subject); err != nil {
					return nil, err
				}
				if person == "" {
					return nil, fmt.Errorf("%w: the account's link vanished", ErrOIDCRefused)
				}
			}
		}
		s, err = o.id.openSession(ctx, tx, person, "oidc")
		return evs, err
	})
	if err != nil {
		return nil, next, err
	}
	return s, next, nil
}
