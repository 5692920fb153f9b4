package app

// Passkeys (WebAuthn): a signed-in person registers a passkey on their device, and later
// signs in with it alone (a discoverable credential: the device says whose it is, so the
// sign-in page asks for nothing first). github.com/go-webauthn/webauthn checks the
// ceremonies; this file keeps their state and decides who is signed in.
//
// A ceremony is a challenge handed to the browser and kept here for five minutes. Finishing
// one spends it in a transaction of its own before anything is verified, so a ceremony is
// used once whatever the outcome: a captured answer cannot be replayed, and a failed
// attempt cannot be retried against the same challenge.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
)

// CeremonyTTL is how long a passkey ceremony may take, from begin to finish.
const CeremonyTTL = 5 * time.Minute

// RPDisplayName is the name a device shows beside a passkey for copnet.
const RPDisplayName = "copnet"

// PasskeyTx is the part of a unit of work that keeps passkeys and ceremonies in flight.
type PasskeyTx interface {
	// AddCeremony stores a ceremony in flight (person is empty for a sign-in) and forgets
	// those that expired by now.
	AddCeremony(ctx context.Context, id, person string, data []byte, now, expires time.Time) error
	// TakeCeremony removes a ceremony and returns it; ok is false when there is none by id.
	TakeCeremony(ctx context.Context, id string) (c StoredCeremony, ok bool, err error)
	// Passkeys lists the credentials (webauthn.Credential as JSON) a person registered.
	Passkeys(ctx context.Context, person string) ([][]byte, error)
	// AddPasskey stores a new credential; false when its id is registered already.
	AddPasskey(ctx context.Context, id []byte, person string, credential []byte, now time.Time) (bool, error)
	// Passkey loads one credential by id, locked for its sign count; ok is false when unknown.
	Passkey(ctx context.Context, id []byte) (person string, credential []byte, ok bool, err error)
	// UsePasskey records a sign-in with a credential: its new state and when.
	UsePasskey(ctx context.Context, id []byte, credential []byte, now time.Time) error
}

// StoredCeremony is a ceremony as kept between begin and finish.
type StoredCeremony struct {
	PersonID string // who registers; empty for a sign-in
	Data     []byte
	Expires  time.Time
}

// ceremony is what a ceremony row's data holds: its kind, so a sign-in's challenge can
// never finish a registration or the other way round, and the library's session data.
type ceremony struct {
	Kind    string               `json:"kind"`
	Session webauthn.SessionData `json:"session"`
}

const (
	kindRegister = "register"
	kindLogin    = "login"
)

// Passkeys registers passkeys and signs people in with them.
type Passkeys struct {
	id *Identity
	wa *webauthn.WebAuthn
}

// ErrPasskeysOff is why a node cannot offer passkeys: WebAuthn binds a passkey to a
// domain name, and the node's public URL has none.
var ErrPasskeysOff = errors.New("passkeys need the node's public URL (COPNET_PUBLIC_URL) to name a host such as cop.example.org or localhost, not an IP address")

// EnablePasskeys offers passkeys for the node at the identity's public URL: its host is
// the relying party id, its origin the only origin ceremonies may come from.
func (id *Identity) EnablePasskeys() (*Passkeys, error) {
	u, err := url.Parse(id.set.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return nil, ErrPasskeysOff
	}
	if err := protocol.ValidateRPID(u.Hostname()); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPasskeysOff, err)
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: RPDisplayName,
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
		// A passkey is a discoverable credential: the device must keep it, so that
		// signing in needs no e-mail address first. The device checks who holds it
		// (fingerprint, face, screen lock) where it can.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
		// The browser is told the ceremony's lifetime; the server holds it to the same
		// through the ceremony row's expiry.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPasskeysOff, err)
	}
	return &Passkeys{id: id, wa: wa}, nil
}

// passkeyUser is a person as WebAuthn sees them: the user handle is the person's id, so a
// discoverable sign-in names the person directly.
type passkeyUser struct {
	id, name, email string
	credentials     []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte                         { return []byte(u.id) }
func (u *passkeyUser) WebAuthnName() string                       { return u.email }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.credentials }

// Begun is a ceremony's options for navigator.credentials and the id to finish it with.
type Begun struct {
	PublicKey any    `json:"publicKey"`
	Ceremony  string `json:"ceremony"`
}

// errCeremony is a ceremony that is unknown, spent, expired or of the other kind.
var errCeremony = apperr.Invalid("ceremony", "is unknown, expired or used already: passkey ceremonies work once, for five minutes; start again")

// person loads the person a signed-in caller is, with their passkeys.
func (p *Passkeys) person(ctx context.Context, tx Tx, personID string) (*passkeyUser, error) {
	rec, err := tx.Person(ctx, personID, false)
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.Erased {
		// An operator's token (`copnet token`) names nobody registered.
		return nil, apperr.Forbidden("passkeys belong to people registered in copnet; sign in as one")
	}
	raws, err := tx.Passkeys(ctx, personID)
	if err != nil {
		return nil, err
	}
	u := &passkeyUser{id: rec.ID, name: rec.Name, email: rec.Email}
	for _, raw := range raws {
		var c webauthn.Credential
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("stored passkey of %s: %w", personID, err)
		}
		u.credentials = append(u.credentials, c)
	}
	return u, nil
}

// BeginRegistration starts adding a passkey for the signed-in caller. Their existing
// passkeys are excluded, so a device that holds one already says so instead of making a
// second.
func (p *Passkeys) BeginRegistration(ctx context.Context, c httpx.Claims) (*Begun, error) {
	if err := httpx.Authorize(c, c.Signed(), "add a passkey"); err != nil {
		return nil, err
	}
	a := p.id.app
	var out *Begun
	err := a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		u, err := p.person(ctx, tx, c.Subject)
		if err != nil {
			return nil, err
		}
		exclude := make([]protocol.CredentialDescriptor, 0, len(u.credentials))
		for _, cred := range u.credentials {
			exclude = append(exclude, cred.Descriptor())
		}
		creation, session, err := p.wa.BeginRegistration(u, webauthn.WithExclusions(exclude))
		if err != nil {
			return nil, fmt.Errorf("begin passkey registration: %w", err)
		}
		out, err = p.store(ctx, tx, c.Subject, kindRegister, session)
		if out != nil {
			out.PublicKey = creation.Response
		}
		return nil, err
	})
	return out, err
}

// store keeps a ceremony's session data under a fresh random id.
func (p *Passkeys) store(ctx context.Context, tx Tx, person, kind string, s *webauthn.SessionData) (*Begun, error) {
	data, err := json.Marshal(ceremony{Kind: kind, Session: *s})
	if err != nil {
		return nil, err
	}
	id := string(newSecret())
	now := p.id.app.now()
	if err := tx.AddCeremony(ctx, id, person, data, now, now.Add(CeremonyTTL)); err != nil {
		return nil, err
	}
	return &Begun{Ceremony: id}, nil
}

// take spends a ceremony of kind in a transaction of its own, committed before the answer
// is verified: whatever happens next, it cannot be used again.
func (p *Passkeys) take(ctx context.Context, id, kind string) (*StoredCeremony, *webauthn.SessionData, error) {
	a := p.id.app
	var sc StoredCeremony
	var found bool
	if err := a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		var err error
		sc, found, err = tx.TakeCeremony(ctx, id)
		return nil, err
	}); err != nil {
		return nil, nil, err
	}
	if !found || !a.now().Before(sc.Expires) {
		return nil, nil, errCeremony
	}
	var c ceremony
	if err := json.Unmarshal(sc.Data, &c); err != nil {
		return nil, nil, fmt.Errorf("stored ceremony: %w", err)
	}
	if c.Kind != kind {
		return nil, nil, errCeremony
	}
	return &sc, &c.Session, nil
}

// FinishRegistration verifies a new passkey's attestation against the caller's ceremony
// and keeps the credential.
func (p *Passkeys) FinishRegistration(ctx context.Context, c httpx.Claims, ceremonyID string, answer *protocol.ParsedCredentialCreationData) error {
	if err := httpx.Authorize(c, c.Signed(), "add a passkey"); err != nil {
		return err
	}
	sc, session, err := p.take(ctx, ceremonyID, kindRegister)
	if err != nil {
		return err
	}
	if sc.PersonID != c.Subject {
		// Someone else's ceremony: as good as unknown to this caller.
		return errCeremony
	}
	a := p.id.app
	return a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		u, err := p.person(ctx, tx, c.Subject)
		if err != nil {
			return nil, err
		}
		cred, err := p.wa.CreateCredential(u, *session, answer)
		if err != nil {
			return nil, apperr.Invalid("credential", explain("the new passkey could not be verified", err)).Wrap(err)
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return nil, err
		}
		added, err := tx.AddPasskey(ctx, cred.ID, c.Subject, raw, a.now())
		if err != nil {
			return nil, err
		}
		if !added {
			return nil, apperr.Conflict("this passkey is registered already")
		}
		return nil, nil
	})
}

// BeginLogin starts a sign-in with whichever passkey the device offers.
func (p *Passkeys) BeginLogin(ctx context.Context) (*Begun, error) {
	var out *Begun
	err := p.id.app.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		assertion, session, err := p.wa.BeginDiscoverableLogin()
		if err != nil {
			return nil, fmt.Errorf("begin passkey sign-in: %w", err)
		}
		out, err = p.store(ctx, tx, "", kindLogin, session)
		if out != nil {
			out.PublicKey = assertion.Response
		}
		return nil, err
	})
	return out, err
}

// ErrPasskeyUnknown is a passkey copnet does not know (never registered here, or its
// person was erased): the sign-in page suggests an e-mail link instead.
var ErrPasskeyUnknown = apperr.Unauthenticated("this passkey is not registered with copnet: sign in with an e-mail link, then add it again from your account page")

// ErrPasskeyCloned is a passkey whose signature counter went backwards: two copies of its
// key may exist, so it no longer proves who holds it.
var ErrPasskeyCloned = apperr.Unauthenticated("this passkey's signature counter went backwards, so it may have been copied: it cannot sign you in; use an e-mail link and add a new passkey")

// FinishLogin verifies an assertion against a sign-in ceremony, records the passkey's use
// (its sign count) and opens a session for its person.
func (p *Passkeys) FinishLogin(ctx context.Context, ceremonyID string, answer *protocol.ParsedCredentialAssertionData) (*Session, error) {
	_, session, err := p.take(ctx, ceremonyID, kindLogin)
	if err != nil {
		return nil, err
	}
	return p.login(ctx, session, answer)
}

func (p *Passkeys) login(ctx context.Context, session *webauthn.SessionData, answer *protocol.ParsedCredentialAssertionData) (*Session, error) {
	a := p.id.app
	var s *Session
	err := a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		// The library asks who owns the credential the device chose; what went wrong while
		// answering is kept here, since it wraps the answer's error in its own.
		var lookup error
		var user *passkeyUser
		owner := func(rawID, userHandle []byte) (webauthn.User, error) {
			person, raw, ok, err := tx.Passkey(ctx, rawID)
			switch {
			case err != nil:
				lookup = err
			case !ok || string(userHandle) != person:
				lookup = ErrPasskeyUnknown
			}
			if lookup != nil {
				return nil, lookup
			}
			rec, err := tx.Person(ctx, person, false)
			if err != nil || rec == nil || rec.Erased {
				lookup = err
				if lookup == nil {
					lookup = ErrPasskeyUnknown
				}
				return nil, lookup
			}
			var cred webauthn.Credential
			if err := json.Unmarshal(raw, &cred); err != nil {
				lookup = fmt.Errorf("stored passkey: %w", err)
				return nil, lookup
			}
			// A warning is never stored (a warned sign-in is refused), so only this
			// sign-in's counter can raise it.
			cred.Authenticator.CloneWarning = false
			user = &passkeyUser{id: rec.ID, name: rec.Name, email: rec.Email, credentials: []webauthn.Credential{cred}}
			return user, nil
		}
		cred, err := p.wa.ValidateDiscoverableLogin(owner, *session, answer)
		if lookup != nil {
			return nil, lookup
		}
		if err != nil {
			return nil, apperr.Unauthenticated(explain("the passkey could not be verified", err)).Wrap(err)
		}
		if cred.Authenticator.CloneWarning {
			return nil, ErrPasskeyCloned
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return nil, err
		}
		if err := tx.UsePasskey(ctx, cred.ID, raw, a.now()); err != nil {
			return nil, err
		}
		s, err = p.id.openSession(ctx, tx, user.id, "passkey")
		return nil, err
	})
	return s, err
}

// explain adds to what failed the library's verdict on an answer: which check (origin,
// challenge, signature ...) it failed. The verdict holds no secret.
func explain(what string, err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return what + ": " + pe.Details
	}
	return what
}

// ParsedCreation and ParsedAssertion are a browser's answers, parsed but not yet verified.
type (
	ParsedCreation  = protocol.ParsedCredentialCreationData
	ParsedAssertion = protocol.ParsedCredentialAssertionData
)

// nul is how JSON writes the NUL character, which PostgreSQL's jsonb cannot hold: a
// credential's strings (its transports) are stored as sent.
var nul = []byte(`\u0000`)

// ParseCredentialCreation reads a browser's answer to navigator.credentials.create (the
// PublicKeyCredential as JSON, binary fields base64url); a malformed one is a 400.
func ParseCredentialCreation(body []byte) (*ParsedCreation, error) {
	if bytes.Contains(body, nul) {
		return nil, apperr.Invalid("body", "must not contain the NUL character (\\u0000)")
	}
	out, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, malformed(err)
	}
	if err := canonicalID(out.ID, out.RawID); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseCredentialAssertion reads a browser's answer to navigator.credentials.get; a
// malformed one is a 400.
func ParseCredentialAssertion(body []byte) (*ParsedAssertion, error) {
	if bytes.Contains(body, nul) {
		return nil, apperr.Invalid("body", "must not contain the NUL character (\\u0000)")
	}
	out, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, malformed(err)
	}
	if err := canonicalID(out.ID, out.RawID); err != nil {
		return nil, err
	}
	return out, nil
}

// canonicalID holds a credential's id to the one spelling of its raw id browsers send:
// base64url decoding forgives stray bits in the last character, so several ids would
// otherwise stand for one credential.
func canonicalID(id string, raw []byte) error {
	if id != base64.RawURLEncoding.EncodeToString(raw) {
		return apperr.Invalid("body", "id must be rawId in base64url without padding")
	}
	return nil
}

func malformed(err error) error {
	msg := "is not a PublicKeyCredential as JSON"
	var pe *protocol.Error
	if errors.As(err, &pe) {
		msg += " (" + pe.Details
		if pe.DevInfo != "" && len(pe.DevInfo) < 200 {
			msg += ": " + pe.DevInfo
		}
		msg += ")"
	}
	return apperr.Invalid("body", msg).Wrap(err)
}
