package app

// Identity: how a person signs in and what they then hold. Sign-in links, session cookies
// and setup tickets are secrets; they are kept only as hashes and never logged or put on the
// event stream. Grants are data: those given by invitation (or setup) are rows of their own,
// a CoP's members, working group and coordinator are their memberships.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/domain"
)

// SigninLinkTTL is how long an e-mailed sign-in link works.
const SigninLinkTTL = 15 * time.Minute

// revocationHorizon is how long a person-wide revocation must be kept: the longest a token
// issued before it can live (personal API tokens are capped at a year).
const revocationHorizon = 366 * 24 * time.Hour

// IdentitySettings shape sign-in.
type IdentitySettings struct {
	// PublicURL is where people reach the node; links in mail point there.
	PublicURL string
	// SelfRegistration lets a person without an account or invitation get one by signing
	// in (the WA CoP's online registration).
	SelfRegistration bool
	// SessionIdle ends a session not used for this long; SessionMax ends any session.
	SessionIdle, SessionMax time.Duration
	// MailQueued, when set, is told after a unit of work that queued mail committed (the
	// mail worker's Wake), so a sign-in link goes out at once rather than at the next poll.
	MailQueued func()
}

// Identity is the part of the application that signs people in.
type Identity struct {
	app    *Application
	signer *access.Signer
	set    IdentitySettings
	// secret keys setup tickets (HMAC, derived for that purpose only).
	setupKey []byte
}

// EnableIdentity makes a the token issuer: it signs with signer and keys setup tickets with
// a key derived from the node secret.
func (a *Application) EnableIdentity(signer *access.Signer, secret []byte, s IdentitySettings) *Identity {
	if s.SessionIdle <= 0 {
		s.SessionIdle = 7 * 24 * time.Hour
	}
	if s.SessionMax <= 0 {
		s.SessionMax = 30 * 24 * time.Hour
	}
	a.identity = &Identity{app: a, signer: signer, set: s, setupKey: setupKey(secret)}
	return a.identity
}

// Secret is a value handed to a person once (in a cookie or a mail) and kept as its hash.
type Secret string

func newSecret() Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return Secret(base64.RawURLEncoding.EncodeToString(b))
}

// Hash is what the database keeps of a secret.
func (s Secret) Hash() []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Session is a signed-in browser: the secret its cookie holds and until when.
type Session struct {
	Secret   Secret
	PersonID string
	Expires  time.Time
}

// SafeNext keeps a "where they were going" only if it is a path on this site: an open
// redirect would let a phishing mail borrow the node's name.
func SafeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\t\\") || len(next) > 512 {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

func normaliseEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", apperr.Invalid("email", "must be an e-mail address such as name@example.org")
	}
	return strings.ToLower(email), nil
}

// RequestSigninLink mails a single-use sign-in link to email when it may sign in: a person
// has it, or an invitation waits for it, or self-registration is open. The caller is told
// the same either way (only an address that is not one at all is an error), so nobody
// learns who has an account.
func (id *Identity) RequestSigninLink(ctx context.Context, email, next string) error {
	email, err := normaliseEmail(email)
	if err != nil {
		return err
	}
	a := id.app
	queued := false
	defer func() {
		if queued && id.set.MailQueued != nil {
			id.set.MailQueued()
		}
	}()
	return a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		known, err := tx.PersonIDByEmail(ctx, email)
		if err != nil {
			return nil, err
		}
		invited := false
		if known == "" {
			if invited, err = tx.InvitationWaits(ctx, email, a.now()); err != nil {
				return nil, err
			}
		}
		if known == "" && !invited && !id.set.SelfRegistration {
			return nil, nil
		}
		secret := newSecret()
		now := a.now()
		if err := tx.AddSigninLink(ctx, secret.Hash(), email, SafeNext(next), now, now.Add(SigninLinkTTL)); err != nil {
			return nil, err
		}
		link := strings.TrimRight(id.set.PublicURL, "/") + "/auth/link?t=" + url.QueryEscape(string(secret))
		queued = true
		return nil, tx.QueueMail(ctx, Mail{To: email, Subject: "Your copnet sign-in link",
			Text: "Hello,\n\nUse this link to sign in to copnet. It works once, for the next 15 minutes:\n\n" + link +
				"\n\nIf you did not ask to sign in, you can ignore this mail: nobody can use the link without it.\n"})
	})
}

// Mail is a transactional mail the repository queues with the state change that causes it.
type Mail struct {
	To, Subject, Text string
}

// ErrLinkUnusable is a link that is unknown, used or expired: the page says to ask again.
var ErrLinkUnusable = errors.New("this sign-in link cannot be used: it has expired or was used already")

// SignInWithLink spends a sign-in link and opens a session for its address's person,
// creating them when an invitation waits or self-registration is open.
func (id *Identity) SignInWithLink(ctx context.Context, secret Secret) (*Session, string, error) {
	a := id.app
	var s *Session
	var next string
	err := a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		email, n, ok, err := tx.UseSigninLink(ctx, secret.Hash(), a.now())
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrLinkUnusable
		}
		next = n
		person, evs, err := id.personFor(ctx, tx, email, "")
		if err != nil {
			return nil, err
		}
		s, err = id.openSession(ctx, tx, person, "email")
		return evs, err
	})
	return s, next, err
}

// personFor finds the person with a verified address, or registers them (name given, else
// the address's local part) when an invitation waits or self-registration is open.
func (id *Identity) personFor(ctx context.Context, tx Tx, email, name string) (string, []events.Event, error) {
	a := id.app
	person, err := tx.PersonIDByEmail(ctx, email)
	if err != nil || person != "" {
		return person, nil, err
	}
	invited, err := tx.InvitationWaits(ctx, email, a.now())
	if err != nil {
		return "", nil, err
	}
	if !invited && !id.set.SelfRegistration {
		return "", nil, ErrNoAccount
	}
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	p := domain.Person{Name: name, Email: email}.Normalise()
	if problems := p.Problems(""); len(problems) > 0 {
		return "", nil, apperr.InvalidFields(problems...)
	}
	person = newID()
	if err := tx.AddPerson(ctx, person, p, a.now()); err != nil {
		return "", nil, err
	}
	return person, []events.Event{events.PersonRegistered{PersonID: person}}, nil
}

// ErrNoAccount is a verified address with no account where nobody may register themselves.
var ErrNoAccount = errors.New("there is no copnet account for this address, and this node registers people by invitation only")

func (id *Identity) openSession(ctx context.Context, tx Tx, person, method string) (*Session, error) {
	now := id.app.now()
	s := &Session{Secret: newSecret(), PersonID: person, Expires: now.Add(id.set.SessionMax)}
	return s, tx.AddSession(ctx, s.Secret.Hash(), person, method, now, s.Expires)
}

// Resume checks a session cookie (idle and absolute expiry) and returns its person.
func (id *Identity) Resume(ctx context.Context, secret Secret) (string, error) {
	a := id.app
	var person string
	err := a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		p, ok, err := tx.TouchSession(ctx, secret.Hash(), a.now(), id.set.SessionIdle)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, apperr.Unauthenticated("your session has ended: sign in again")
		}
		person = p
		return nil, nil
	})
	return person, err
}

// AccessToken issues a short-lived access token carrying the person's grants as they are
// now.
func (id *Identity) AccessToken(ctx context.Context, person string) (string, error) {
	var grants []httpx.Grant
	err := id.app.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		var err error
		grants, err = tx.Grants(ctx, person)
		return nil, err
	})
	if err != nil {
		return "", err
	}
	return id.signer.Sign(httpx.Claims{Subject: person, Grants: grants}, access.TokenTTL)
}

// SignOut ends one session.
func (id *Identity) SignOut(ctx context.Context, secret Secret) error {
	return id.app.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		return nil, tx.EndSession(ctx, secret.Hash(), id.app.now())
	})
}

// SignOutEverywhere ends every session of the caller and revokes every token they hold.
func (id *Identity) SignOutEverywhere(ctx context.Context, c httpx.Claims) error {
	if err := httpx.Authorize(c, c.Signed(), "sign out"); err != nil {
		return err
	}
	return id.app.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		if err := tx.EndSessions(ctx, c.Subject, id.app.now()); err != nil {
			return nil, err
		}
		return []events.Event{revokeAll(c.Subject, "signed_out_everywhere")}, nil
	})
}

// revokeAll revokes every token of person issued until now. Tokens carry the real time,
// not the application's clock (which tests move), so the revocation does too.
func revokeAll(person, reason string) events.AccessRevoked {
	now := time.Now().UTC()
	return events.AccessRevoked{PersonID: person, NotBefore: now, ExpiresAt: now.Add(revocationHorizon), Reason: reason}
}

// MeView is the caller as they see themselves.
type MeView struct {
	Person *PersonView   `json:"person"`
	Grants []httpx.Grant `json:"grants"`
	Token  *TokenGrants  `json:"token"`
}

// TokenGrants is what the token the caller used carries (which may lag grants given since).
type TokenGrants struct {
	ID     string        `json:"id"`
	Grants []httpx.Grant `json:"grants"`
}

// Me answers the caller's person and the grants they hold now.
func (a *Application) Me(ctx context.Context, c httpx.Claims) (*MeView, error) {
	if err := httpx.Authorize(c, c.Signed(), "see who you are"); err != nil {
		return nil, err
	}
	out := &MeView{Token: &TokenGrants{ID: c.TokenID, Grants: c.Grants}}
	if out.Token.Grants == nil {
		out.Token.Grants = []httpx.Grant{}
	}
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		p, err := tx.Person(ctx, c.Subject, false)
		if err != nil {
			return nil, err
		}
		if p == nil || p.Erased {
			// An operator's token (`copnet token`) names no registered person.
			out.Grants = c.Grants
			return nil, nil
		}
		out.Person = &PersonView{ID: p.ID, Name: p.Name, Email: p.Email, Organisation: p.Organisation, RegisteredAt: p.RegisteredAt}
		out.Grants, err = tx.Grants(ctx, c.Subject)
		return nil, err
	})
}

// grantEvents adds, to the events a change causes, the grant changes they mean: a member's
// joining and roles give grants; leaving and losing roles withdraw them, and losing a role
// (coordinator, working group) or any grant given as data revokes the person's tokens, which
// carry grants as issued; erasure revokes everything.
func grantEvents(evs []events.Event) []events.Event {
	out := evs
	revoked := map[string]string{}
	for _, ev := range evs {
		switch e := ev.(type) {
		case events.MemberJoined:
			out = append(out, events.GrantGiven{PersonID: e.PersonID, Role: string(httpx.RoleMember), CoPID: e.CoPID})
		case events.RoleAssigned:
			if e.Role != string(httpx.RoleMember) {
				out = append(out, events.GrantGiven{PersonID: e.PersonID, Role: e.Role, CoPID: e.CoPID})
			}
		case events.MemberLeft:
			// Services keep their own rosters from member_left, so a member grant in a
			// token gives nothing they would not refuse anyway: no revocation for it.
			out = append(out, events.GrantWithdrawn{PersonID: e.PersonID, Role: string(httpx.RoleMember), CoPID: e.CoPID,
				Reason: "membership ended (" + e.Reason + ")"})
		case events.RoleRevoked:
			if e.Role != string(httpx.RoleMember) {
				out = append(out, events.GrantWithdrawn{PersonID: e.PersonID, Role: e.Role, CoPID: e.CoPID, Reason: "role ended"})
				revoked[e.PersonID] = "grant_withdrawn"
			}
		case events.GrantWithdrawn:
			if e.Role != string(httpx.RoleMember) {
				revoked[e.PersonID] = "grant_withdrawn"
			}
		case events.PersonErased:
			revoked[e.PersonID] = "erased"
		}
	}
	people := make([]string, 0, len(revoked))
	for p := range revoked {
		people = append(people, p)
	}
	slices.Sort(people)
	for _, p := range people {
		out = append(out, revokeAll(p, revoked[p]))
	}
	return out
}

// inTx is repo.InTx with the grant changes the events mean added to them.
func (a *Application) inTx(ctx context.Context, fn func(Tx) ([]events.Event, error)) error {
	return a.repo.InTx(ctx, func(tx Tx) ([]events.Event, error) {
		evs, err := fn(tx)
		if err != nil {
			return nil, err
		}
		return grantEvents(evs), nil
	})
}
