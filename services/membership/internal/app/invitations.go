package app

// Invitations delegate access: a person who holds a grant offers a narrower one to an e-mail
// address, and the grant exists only once the invitee accepts it (for a CoP membership,
// accepting the CoP's current Code of Practice too). Nobody is given anything, or joined to
// anything, without saying yes.
//
// Who may offer what:
//   - national: national staff, the hub officer of any region, and any grant of a CoP;
//   - the hub officer of region R: coordinator, working group and member of CoPs in R;
//   - the coordinator of CoP C: member of C. The working group is chosen among members by
//     their coordinator (PUT .../roles), so a coordinator does not invite into it.
//
// The mail's link is a secret kept only as a hash: it signs the invitee in once (which
// proves they read the mailbox) and leads to the page where they accept or decline. No event
// is published until the invitation is accepted: an offer is not a change anyone else needs
// to know of, and an event would say that someone was invited to something.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/membership/domain"
)

// InvitationTTL is how long an invitation (and its link) can be used.
const InvitationTTL = 14 * 24 * time.Hour

// InvitationPath is where an invitation's mailed link points; the secret travels as ?t=.
const InvitationPath = "/auth/invitation"

// maxScopeID bounds a region or CoP id named in a grant, as the events' schemas do.
const maxScopeID = 64

// listLimit bounds the invitations one list answers (the most recent first).
const listLimit = 200

// InvitationsTx is the part of a unit of work that concerns invitations.
type InvitationsTx interface {
	// AddInvitation stores an invitation with its link's hash. An expired invitation of the
	// same address and grant lapses; one still open makes this a 409.
	AddInvitation(ctx context.Context, inv *Invitation, hash []byte) error
	// Invitation loads one invitation (locked when lock); nil when unknown.
	Invitation(ctx context.Context, id string, lock bool) (*Invitation, error)
	// InvitationByHash finds the invitation a link's hash belongs to; nil when none.
	InvitationByHash(ctx context.Context, hash []byte, lock bool) (*Invitation, error)
	// OpenInvitation finds the open invitation of email to g at now; nil when none.
	OpenInvitation(ctx context.Context, email string, g httpx.Grant, now time.Time) (*Invitation, error)
	// UseInvitationLink records that the link signed its invitee in.
	UseInvitationLink(ctx context.Context, id string, now time.Time) error
	// AcceptInvitation and DeclineInvitation record the invitee's answer.
	AcceptInvitation(ctx context.Context, id, person string, now time.Time) error
	DeclineInvitation(ctx context.Context, id string, now time.Time) error
	// InvitationsSentBy lists what person sent, newest first, at most limit.
	InvitationsSentBy(ctx context.Context, person string, limit int) ([]*Invitation, error)
	// InvitationsFor lists the invitations open for email at now, newest first.
	InvitationsFor(ctx context.Context, email string, now time.Time, limit int) ([]*Invitation, error)
}

// Invitation is an offer of a grant to an e-mail address, as stored.
type Invitation struct {
	ID           string
	Email        string
	Name         string
	Organisation string
	Grant        httpx.Grant
	InvitedBy    string
	// InvitedByName is the inviter's name when they are a registered person.
	InvitedByName string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	LinkUsedAt    *time.Time
	AcceptedBy    string
	AcceptedAt    *time.Time
	DeclinedAt    *time.Time
	LapsedAt      *time.Time
	// CodeOfPracticeVersion is, for a CoP membership, the CoP's current Code of Practice:
	// what accepting means accepting (read with the invitation from the CoP, not stored:
	// a version published meanwhile is the one to accept).
	CodeOfPracticeVersion int
}

// Invitation states, as the API shows them.
const (
	InvitationOpen     = "open"
	InvitationAccepted = "accepted"
	InvitationDeclined = "declined"
	InvitationExpired  = "expired"
)

// Status says where the invitation stands at now.
func (i *Invitation) Status(now time.Time) string {
	switch {
	case i.AcceptedAt != nil:
		return InvitationAccepted
	case i.DeclinedAt != nil:
		return InvitationDeclined
	case i.LapsedAt != nil || !now.Before(i.ExpiresAt):
		return InvitationExpired
	}
	return InvitationOpen
}

// InvitationView is an invitation as its inviter and its invitee see it. It never holds
// the link's secret.
type InvitationView struct {
	ID     string      `json:"id"`
	Email  string      `json:"email"`
	Grant  httpx.Grant `json:"grant"`
	Status string      `json:"status"`
	// InvitedBy is the inviter's person id; InvitedByName their name, when they are a
	// registered person (an operator's token names nobody).
	InvitedBy     string     `json:"invited_by"`
	InvitedByName string     `json:"invited_by_name,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	AcceptedAt    *time.Time `json:"accepted_at,omitempty"`
	DeclinedAt    *time.Time `json:"declined_at,omitempty"`
	// CodeOfPracticeVersion is, for a CoP membership, the version accepting it accepts.
	CodeOfPracticeVersion int `json:"code_of_practice_version,omitempty"`
	// IsInvitee says whether the caller is the invitee, who alone may accept or decline.
	IsInvitee bool `json:"is_invitee"`
}

func (a *Application) invitationView(i *Invitation, isInvitee bool) *InvitationView {
	return &InvitationView{ID: i.ID, Email: i.Email, Grant: i.Grant, Status: i.Status(a.now()), InvitedBy: i.InvitedBy,
		InvitedByName: i.InvitedByName, CreatedAt: i.CreatedAt, ExpiresAt: i.ExpiresAt, AcceptedAt: i.AcceptedAt,
		DeclinedAt: i.DeclinedAt, CodeOfPracticeVersion: i.CodeOfPracticeVersion, IsInvitee: isInvitee}
}

// NewInvitation is the input of Invite.
type NewInvitation struct {
	Email string      `json:"email"`
	Grant httpx.Grant `json:"grant"`
	// Name, optional, greets the invitee and names them if they register on arrival.
	Name string `json:"name"`
}

// checkNewInvitation validates an invitation's input field by field.
func checkNewInvitation(in NewInvitation) (NewInvitation, error) {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
	var v apperr.Validator
	v.Check(domain.ValidEmail(in.Email), "email", "must be one e-mail address, like name@example.org")
	if v.Require(in.Grant.Role.Valid(), "grant.role", "must be one of national, hub, coordinator, working_group, member") {
		if err := in.Grant.Validate(); err != nil {
			field := "grant.cop"
			if in.Grant.Role == httpx.RoleHub || (in.Grant.Role == httpx.RoleNational && in.Grant.Region != "") {
				field = "grant.region"
			}
			v.Check(false, field, err.Error())
		}
	}
	v.Check(scopeID(in.Grant.Region), "grant.region", fmt.Sprintf("is at most %d characters, no spaces or control characters", maxScopeID))
	v.Check(scopeID(in.Grant.CoP), "grant.cop", fmt.Sprintf("is at most %d characters, no spaces or control characters", maxScopeID))
	if in.Name != "" {
		for _, p := range (domain.Person{Name: in.Name, Email: in.Email}).Problems("") {
			v.Check(p.Field != "name", "name", p.Message)
		}
	}
	return in, v.Err()
}

func scopeID(s string) bool {
	return len(s) <= maxScopeID && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\uFFFD' })
}

// mayGive reports whether c may offer g (see the package comment above); cop is g's CoP,
// nil for grants without one.
func mayGive(c httpx.Claims, g httpx.Grant, cop *CoP) bool {
	if c.IsNational() {
		return true
	}
	switch g.Role {
	case httpx.RoleCoordinator, httpx.RoleWorkingGroup:
		return cop != nil && c.IsHubOf(cop.Region)
	case httpx.RoleMember:
		return cop != nil && (c.IsHubOf(cop.Region) || c.IsCoordinatorOf(cop.ID))
	}
	return false
}

// mayOfferCoP reports whether c could offer some grant of a CoP it cannot see yet: the
// answer to an unknown CoP is 404 for them and 403 for everyone else, so a hub cannot tell
// another region's CoPs from ids that do not exist.
func mayOfferCoP(c httpx.Claims, id string) bool {
	return c.IsNational() || c.Holds(httpx.RoleHub) || c.IsCoordinatorOf(id)
}

// Invite offers a grant to an e-mail address and mails them a link.
func (a *Application) Invite(ctx context.Context, c httpx.Claims, in NewInvitation) (*InvitationView, error) {
	if err := httpx.Authorize(c, c.Signed(), "invite people"); err != nil {
		return nil, err
	}
	in, err := checkNewInvitation(in)
	if err != nil {
		return nil, err
	}
	var out *InvitationView
	err = a.withMail(ctx, func(tx Tx) ([]events.Event, error) {
		inv, err := a.invite(ctx, tx, c, in, "")
		if err != nil {
			return nil, err
		}
		mine, err := invitee(ctx, tx, c, inv)
		out = a.invitationView(inv, mine)
		return nil, err
	})
	return out, err
}

// errAlreadyOpen is an invitation to the same address for the same grant that is still
// open; the import counts these instead of refusing.
var errAlreadyOpen = errors.New("an invitation is already open")

// invite checks that c may offer in.Grant, stores the invitation and queues its mail.
// organisation comes from an imported roster.
func (a *Application) invite(ctx context.Context, tx Tx, c httpx.Claims, in NewInvitation, organisation string) (*Invitation, error) {
	id := a.identity
	if id == nil {
		return nil, errors.New("invitations need the token issuer (EnableIdentity)")
	}
	g := in.Grant
	what := "offer the grant " + g.String()
	var cop *CoP
	if g.CoP != "" {
		var err error
		if cop, err = tx.CoP(ctx, g.CoP, false); err != nil {
			return nil, err
		}
		if cop == nil {
			if err := httpx.Authorize(c, mayOfferCoP(c, g.CoP), what); err != nil {
				return nil, err
			}
			return nil, apperr.NotFound("CoP %q is not known here", g.CoP)
		}
	}
	if err := httpx.Authorize(c, mayGive(c, g, cop), what); err != nil {
		return nil, err
	}
	if cop != nil {
		if err := offerable(cop, g); err != nil {
			return nil, err
		}
	}
	now := a.now()
	if person, err := tx.PersonIDByEmail(ctx, in.Email); err != nil {
		return nil, err
	} else if person != "" {
		held, err := tx.Grants(ctx, person)
		if err != nil {
			return nil, err
		}
		for _, h := range held {
			if h == g {
				return nil, apperr.Conflict("%s already holds the grant %s", in.Email, g)
			}
		}
	}
	if open, err := tx.OpenInvitation(ctx, in.Email, g, now); err != nil {
		return nil, err
	} else if open != nil {
		return nil, fmt.Errorf("%w: %w", errAlreadyOpen,
			apperr.Conflict("an invitation of %s to %s is already open (id %s, until %s)", in.Email, g, open.ID, open.ExpiresAt.Format("2 Jan 2006")))
	}
	inv := &Invitation{ID: newID(), Email: in.Email, Name: in.Name, Organisation: organisation, Grant: g,
		InvitedBy: c.Subject, CreatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	if cop != nil && g.Role == httpx.RoleMember {
		inv.CodeOfPracticeVersion = cop.CodeOfPracticeVersion
	}
	if p, err := tx.Person(ctx, c.Subject, false); err != nil {
		return nil, err
	} else if p != nil && !p.Erased {
		inv.InvitedByName = p.Name
	}
	secret := newSecret()
	if err := tx.AddInvitation(ctx, inv, secret.Hash()); err != nil {
		return nil, err
	}
	link := strings.TrimRight(id.set.PublicURL, "/") + InvitationPath + "?t=" + url.QueryEscape(string(secret))
	return inv, tx.QueueMail(ctx, invitationMail(inv, link))
}

// offerable refuses grants of a CoP that cannot take them now.
func offerable(cop *CoP, g httpx.Grant) error {
	if cop.Status == "retired" {
		return apperr.Conflict("CoP %s has retired", cop.ID)
	}
	if g.Role != httpx.RoleMember {
		return nil
	}
	if err := joinable(cop.ID, cop); err != nil {
		return err
	}
	if cop.CodeOfPracticeVersion == 0 {
		return apperr.Conflict("CoP %s has not published a Code of Practice for members to accept", cop.ID)
	}
	return nil
}

// invitationMail words the invitation. The link is the only secret in it.
func invitationMail(inv *Invitation, link string) Mail {
	var b strings.Builder
	b.WriteString("Hello")
	if inv.Name != "" {
		b.WriteString(" " + inv.Name)
	}
	b.WriteString(",\n\n")
	who := "The copnet team"
	if inv.InvitedByName != "" {
		who = inv.InvitedByName
	}
	fmt.Fprintf(&b, "%s invited you to copnet as %s.\n\n", who, grantInWords(inv.Grant))
	if inv.Grant.Role == httpx.RoleMember {
		b.WriteString("Joining a CoP means accepting its Code of Practice, which the invitation page shows you before you decide.\n\n")
	}
	fmt.Fprintf(&b, "Open this link to sign in and accept or decline. It works once, until %s:\n\n%s\n\n",
		inv.ExpiresAt.UTC().Format("2 January 2006"), link)
	b.WriteString("If the link has been used, sign in with this e-mail address and the invitation will be waiting.\n" +
		"If you were not expecting this, you can ignore this mail: nothing happens unless you accept.\n")
	return Mail{To: inv.Email, Subject: "You are invited to copnet as " + grantInWords(inv.Grant), Text: b.String()}
}

// grantInWords says what a grant lets its holder do, for mail.
func grantInWords(g httpx.Grant) string {
	switch g.Role {
	case httpx.RoleNational:
		return "a member of the national secretariat"
	case httpx.RoleHub:
		return "hub officer of region " + g.Region
	case httpx.RoleCoordinator:
		return "coordinator of CoP " + g.CoP
	case httpx.RoleWorkingGroup:
		return "a member of the working group of CoP " + g.CoP
	case httpx.RoleMember:
		return "a member of CoP " + g.CoP
	}
	return g.String()
}

// withMail runs fn in a transaction and, when it committed, wakes the mail worker so that
// what fn queued goes out at once rather than at the next poll.
func (a *Application) withMail(ctx context.Context, fn func(Tx) ([]events.Event, error)) error {
	err := a.inTx(ctx, fn)
	if err == nil && a.identity != nil && a.identity.set.MailQueued != nil {
		a.identity.set.MailQueued()
	}
	return err
}

// loadInvitation loads an invitation (locked for a decision when lock); unknown is 404.
func (a *Application) loadInvitation(ctx context.Context, tx Tx, id string, lock bool) (*Invitation, error) {
	inv, err := tx.Invitation(ctx, id, lock)
	if err == nil && inv == nil {
		err = apperr.NotFound("invitation %q does not exist", id)
	}
	return inv, err
}

// invitee reports whether the caller is the person an invitation was sent to: the signed-in
// person whose e-mail (verified by signing in) is the invitation's.
func invitee(ctx context.Context, tx Tx, c httpx.Claims, inv *Invitation) (bool, error) {
	if !c.Signed() {
		return false, nil
	}
	p, err := tx.Person(ctx, c.Subject, false)
	if err != nil || p == nil || p.Erased {
		return false, err
	}
	return strings.EqualFold(p.Email, inv.Email), nil
}

// Invitation shows one invitation to its inviter, its invitee and national.
func (a *Application) Invitation(ctx context.Context, c httpx.Claims, id string) (*InvitationView, error) {
	if err := httpx.Authorize(c, c.Signed(), "see invitations"); err != nil {
		return nil, err
	}
	var out *InvitationView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		inv, err := a.loadInvitation(ctx, tx, id, false)
		if err != nil {
			return nil, err
		}
		mine, err := invitee(ctx, tx, c, inv)
		if err != nil {
			return nil, err
		}
		if err := httpx.Authorize(c, mine || c.IsPerson(inv.InvitedBy) || c.IsNational(), "see this invitation"); err != nil {
			return nil, err
		}
		out = a.invitationView(inv, mine)
		return nil, nil
	})
}

// InvitationList is the invitations a caller sent and those waiting for them.
type InvitationList struct {
	Sent     []*InvitationView `json:"sent"`
	Received []*InvitationView `json:"received"`
}

// Invitations lists the invitations the caller sent (the most recent first, whatever became
// of them) and those open for the caller's e-mail address.
func (a *Application) Invitations(ctx context.Context, c httpx.Claims) (*InvitationList, error) {
	if err := httpx.Authorize(c, c.Signed(), "see invitations"); err != nil {
		return nil, err
	}
	out := &InvitationList{Sent: []*InvitationView{}, Received: []*InvitationView{}}
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		p, err := tx.Person(ctx, c.Subject, false)
		if err != nil {
			return nil, err
		}
		email := ""
		if p != nil && !p.Erased {
			email = p.Email
		}
		sent, err := tx.InvitationsSentBy(ctx, c.Subject, listLimit)
		if err != nil {
			return nil, err
		}
		for _, inv := range sent {
			out.Sent = append(out.Sent, a.invitationView(inv, email != "" && strings.EqualFold(email, inv.Email)))
		}
		if email == "" {
			return nil, nil
		}
		waiting, err := tx.InvitationsFor(ctx, email, a.now(), listLimit)
		if err != nil {
			return nil, err
		}
		for _, inv := range waiting {
			out.Received = append(out.Received, a.invitationView(inv, true))
		}
		return nil, nil
	})
}

// Acceptance is the input of AcceptInvitation.
type Acceptance struct {
	// CodeOfPracticeVersion is, for a CoP membership, the version of the CoP's Code of
	// Practice the invitee accepts; it must be the current one.
	CodeOfPracticeVersion int `json:"code_of_practice_version"`
}

// AcceptInvitation gives the invitee the grant offered: a grant as data (national, hub,
// coordinator, working group), or for a CoP membership, joining the CoP under the Code of
// Practice they accept (member_joined, which is the member grant).
func (a *Application) AcceptInvitation(ctx context.Context, c httpx.Claims, id string, in Acceptance) (*InvitationView, error) {
	if err := httpx.Authorize(c, c.Signed(), "accept invitations"); err != nil {
		return nil, err
	}
	var out *InvitationView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		inv, err := a.openInvitationFor(ctx, tx, c, id, "accept")
		if err != nil {
			return nil, err
		}
		evs, err := a.give(ctx, tx, c.Subject, inv, in)
		if err != nil {
			return nil, err
		}
		now := a.now()
		if err := tx.AcceptInvitation(ctx, inv.ID, c.Subject, now); err != nil {
			return nil, err
		}
		inv.AcceptedAt, inv.AcceptedBy = &now, c.Subject
		out = a.invitationView(inv, true)
		return evs, nil
	})
}

// openInvitationFor loads an invitation, locked, for its invitee to decide on: 404 unknown,
// 403 for anyone else, 409 once it is no longer open.
func (a *Application) openInvitationFor(ctx context.Context, tx Tx, c httpx.Claims, id, verb string) (*Invitation, error) {
	inv, err := a.loadInvitation(ctx, tx, id, true)
	if err != nil {
		return nil, err
	}
	mine, err := invitee(ctx, tx, c, inv)
	if err != nil {
		return nil, err
	}
	if !mine {
		return nil, apperr.Forbidden("this invitation was sent to another e-mail address: only its invitee may %s it", verb)
	}
	if st := inv.Status(a.now()); st != InvitationOpen {
		return nil, apperr.Conflict("this invitation is %s: it can no longer be answered", st)
	}
	return inv, nil
}

// give creates what an accepted invitation offers and returns the events that says.
func (a *Application) give(ctx context.Context, tx Tx, person string, inv *Invitation, in Acceptance) ([]events.Event, error) {
	g := inv.Grant
	var cop *CoP
	if g.CoP != "" {
		var err error
		if cop, err = tx.CoP(ctx, g.CoP, true); err != nil {
			return nil, err
		}
		if cop == nil {
			return nil, apperr.Conflict("CoP %s is no longer known here", g.CoP)
		}
		if err := offerable(cop, g); err != nil {
			return nil, err
		}
	}
	if g.Role == httpx.RoleMember {
		if err := acceptsCurrent(cop, in.CodeOfPracticeVersion); err != nil {
			return nil, err
		}
		m, err := tx.Membership(ctx, cop.ID, person, true)
		if err != nil {
			return nil, err
		}
		if m != nil && m.Active {
			return nil, nil // a member already (they joined by themselves meanwhile)
		}
		joined, err := a.join(ctx, tx, cop, person)
		if err != nil {
			return nil, err
		}
		return []events.Event{joined}, nil
	}
	given, err := tx.AddGrant(ctx, person, g, inv.InvitedBy, a.now())
	if err != nil || !given {
		return nil, err
	}
	return []events.Event{events.GrantGiven{PersonID: person, Role: string(g.Role), Region: g.Region, CoPID: g.CoP}}, nil
}

// DeclineInvitation records the invitee's no; the invitation can no longer be used.
func (a *Application) DeclineInvitation(ctx context.Context, c httpx.Claims, id string) (*InvitationView, error) {
	if err := httpx.Authorize(c, c.Signed(), "decline invitations"); err != nil {
		return nil, err
	}
	var out *InvitationView
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		inv, err := a.openInvitationFor(ctx, tx, c, id, "decline")
		if err != nil {
			return nil, err
		}
		now := a.now()
		if err := tx.DeclineInvitation(ctx, inv.ID, now); err != nil {
			return nil, err
		}
		inv.DeclinedAt = &now
		out = a.invitationView(inv, true)
		return nil, nil
	})
}

// ErrInvitationLinkUsed is a link to an invitation that is still open but whose link
// signed someone in already: the invitee signs in another way and finds it waiting.
var ErrInvitationLinkUsed = errors.New("this invitation link has been used already")

// FollowInvitation spends an invitation's link: it proves the invitee reads the mailbox, so
// it signs them in (registering them if new) and returns the invitation's id for the page
// where they decide. A link that is unknown, or whose invitation is no longer open, is
// ErrLinkUnusable; an open invitation's link used before is ErrInvitationLinkUsed, with
// the id.
func (id *Identity) FollowInvitation(ctx context.Context, secret Secret) (*Session, string, error) {
	a := id.app
	var s *Session
	var invID string
	var used bool
	err := a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		inv, err := tx.InvitationByHash(ctx, secret.Hash(), true)
		if err != nil {
			return nil, err
		}
		now := a.now()
		if inv == nil || inv.Status(now) != InvitationOpen {
			return nil, ErrLinkUnusable
		}
		invID = inv.ID
		if inv.LinkUsedAt != nil {
			used = true
			return nil, nil
		}
		if err := tx.UseInvitationLink(ctx, inv.ID, now); err != nil {
			return nil, err
		}
		person, evs, err := id.invitedPerson(ctx, tx, inv)
		if err != nil {
			return nil, err
		}
		s, err = id.openSession(ctx, tx, person, "invitation")
		return evs, err
	})
	if err == nil && used {
		err = ErrInvitationLinkUsed
	}
	return s, invID, err
}

// invitedPerson finds the person with the invitation's address, or registers them under
// the name (and organisation) the inviter gave, else as personFor would.
func (id *Identity) invitedPerson(ctx context.Context, tx Tx, inv *Invitation) (string, []events.Event, error) {
	if inv.Name == "" {
		return id.personFor(ctx, tx, inv.Email, "")
	}
	person, err := tx.PersonIDByEmail(ctx, inv.Email)
	if err != nil || person != "" {
		return person, nil, err
	}
	p := domain.Person{Name: inv.Name, Email: inv.Email, Organisation: inv.Organisation}.Normalise()
	if len(p.Problems("")) > 0 {
		return id.personFor(ctx, tx, inv.Email, "")
	}
	person = newID()
	if err := tx.AddPerson(ctx, person, p, id.app.now()); err != nil {
		return "", nil, err
	}
	return person, []events.Event{events.PersonRegistered{PersonID: person}}, nil
}
