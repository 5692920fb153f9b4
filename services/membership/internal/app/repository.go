package app

import (
	"context"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/membership/domain"
)

// Repository is where membership keeps its state. InTx runs fn in one transaction (the
// consumer's, when ctx carries one) and writes the events fn returns to the outbox in that
// same transaction, so state and events never disagree; the app decides which events a
// change causes, the repository alone writes them.
type Repository interface {
	InTx(ctx context.Context, fn func(Tx) ([]events.Event, error)) error
}

// Tx is one unit of work: the reads and writes of one use case.
type Tx interface {
	IdentityTx
	PasskeyTx
	InvitationsTx
	TokensTx
	OIDCTx
	RosterTx
	// AddPerson stores a new person; an e-mail already used, in any case, is a 409.
	AddPerson(ctx context.Context, id string, p domain.Person, now time.Time) error
	// Person loads one person, erased or not; nil when the id is unknown.
	Person(ctx context.Context, id string, lock bool) (*PersonRecord, error)
	// PersonIDByEmail finds a registered person by e-mail, ignoring case ("" when none).
	PersonIDByEmail(ctx context.Context, email string) (string, error)
	// ErasePerson removes every piece of personal data held about id.
	ErasePerson(ctx context.Context, id string, now time.Time) error

	// CoP loads a CoP's projection; nil when no event about it has arrived.
	CoP(ctx context.Context, id string, lock bool) (*CoP, error)
	// ApproveCoP records cop_approved; a retirement seen first is never undone.
	ApproveCoP(ctx context.Context, id, region string) error
	// RetireCoP records cop_retired.
	RetireCoP(ctx context.Context, id, region string) error
	// PublishCodeOfPractice records charter_published; an older version never replaces a newer.
	PublishCodeOfPractice(ctx context.Context, id, region string, version int) error

	// Membership loads person's membership of cop, current or ended; nil when there never was one.
	Membership(ctx context.Context, copID, personID string, lock bool) (*Member, error)
	// Join starts (or restarts, after leaving) a membership with no role beyond member.
	Join(ctx context.Context, copID, personID string, version int, now time.Time) error
	// Leave ends a membership and every role with it.
	Leave(ctx context.Context, copID, personID, reason string, now time.Time) error
	// SetRoles replaces a member's roles; termEnds is the coordinator's term, if any.
	SetRoles(ctx context.Context, copID, personID string, roles []domain.Role, termEnds *time.Time) error
	// Members lists a CoP's current members, oldest first.
	Members(ctx context.Context, copID string) ([]*Member, error)
	// MembershipsOf lists a person's current memberships, locked, for ending them.
	MembershipsOf(ctx context.Context, personID string) ([]*Member, error)
	// MembersOfLocked lists a CoP's current members, locked, for ending them.
	MembersOfLocked(ctx context.Context, copID string) ([]*Member, error)
	// ExpiredCoordinators lists coordinators whose term ended by now, locked (skipping
	// rows another node is settling).
	ExpiredCoordinators(ctx context.Context, now time.Time) ([]*Member, error)
	// WorkingGroup lists the ids of a CoP's current working-group members.
	WorkingGroup(ctx context.Context, copID string) ([]string, error)

	// AddAppointment stores a new consent window; a CoP has one open at a time (409).
	AddAppointment(ctx context.Context, a *domain.Appointment, proposedBy string) error
	// Appointment loads one appointment, locked for a decision; nil when unknown.
	Appointment(ctx context.Context, id string) (*domain.Appointment, error)
	// SaveAppointment records an appointment's decision.
	SaveAppointment(ctx context.Context, a *domain.Appointment, now time.Time) error
	// AddObjection keeps an objection (the audit trail of why an appointment lapsed).
	AddObjection(ctx context.Context, appointmentID, personID, reason string, now time.Time) error
	// DueAppointments lists open appointments whose window ended by now.
	DueAppointments(ctx context.Context, now time.Time) ([]string, error)

	// AddRemoval stores a new removal proposal; one open proposal per member (409).
	AddRemoval(ctx context.Context, r *domain.Removal, now time.Time) error
	// Removal loads one removal and its votes, locked; nil when unknown.
	Removal(ctx context.Context, id string) (*RemovalRecord, error)
	// Removals lists a CoP's latest removals, open ones first, without names.
	Removals(ctx context.Context, copID string) ([]RemovalSummary, error)
	// Appointments lists a CoP's latest coordinator appointments, open ones first.
	Appointments(ctx context.Context, copID string) ([]*domain.Appointment, error)
	// Objections lists the objections to an appointment, oldest first, without names.
	Objections(ctx context.Context, appointmentID string) ([]ObjectionView, error)
	// AddVote records a vote and, when it decided the removal, its new status.
	AddVote(ctx context.Context, r *RemovalRecord, voter string, support bool, now time.Time) error
}

// PersonRecord is a person as stored; an erased person keeps only id and dates.
type PersonRecord struct {
	ID           string
	Name         string
	Email        string
	Organisation string
	RegisteredAt time.Time
	Erased       bool
}

// CoP is what membership knows of a CoP from the registry's events.
type CoP struct {
	ID                    string
	Region                string
	Status                string // proposed, approved or retired
	CodeOfPracticeVersion int
	// OpenRegistration lets a signed-in person join without an invitation.
	OpenRegistration bool
}

// Member is one membership, current or ended.
type Member struct {
	CoPID                 string
	PersonID              string
	Name                  string // empty once erased
	Roles                 []domain.Role
	CodeOfPracticeVersion int
	JoinedAt              time.Time
	CoordinatorTermEndsAt *time.Time
	Active                bool
}

// RemovalRecord is a removal with its timeline, for the audit trail.
type RemovalRecord struct {
	*domain.Removal
	OpenedAt time.Time
	ClosedAt *time.Time
	Ballots  []RecordedBallot
}

// RecordedBallot is one recorded vote.
type RecordedBallot struct {
	VoterID string    `json:"voter_id"`
	Support bool      `json:"support"`
	CastAt  time.Time `json:"cast_at"`
}
