// Package domain holds the registry's rules: the onboarding state machine, the Wenger
// stages, and what a charter must contain.
package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/copnet/copnet/pkg/events"
)

// Region is a regional hub's area.
type Region struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Status is where a CoP stands in its life: onboarding, then running, then closed.
type Status string

// Statuses. A CoP is proposed by a hub or applied for by a group, then approved or
// declined; in between, the hub may ask the applicant for changes, and the resubmitted
// proposal is proposed again. An approved CoP is finally retired. Whether a running CoP is active or dormant is not the registry's record:
// the console derives it from the sessions the CoP holds.
const (
	StatusProposed Status = "proposed"
	// StatusChangesRequested waits for the applicant to edit and resubmit.
	StatusChangesRequested Status = "changes_requested"
	StatusApproved         Status = "approved"
	StatusDeclined         Status = "declined"
	StatusRetired          Status = "retired"
)

// Statuses lists every status, for validating filters.
var Statuses = []Status{StatusProposed, StatusChangesRequested, StatusApproved, StatusDeclined, StatusRetired}

// Stage is the Wenger development stage a CoP assesses itself to be in.
type Stage string

// Stages, in the order a CoP usually moves through them.
var Stages = []Stage{"potential", "coalescing", "maturing", "stewardship", "transformation"}

// ValidStage reports whether s is a Wenger stage.
func ValidStage(s string) bool { return slices.Contains(Stages, Stage(s)) }

// Scopes a CoP can serve.
var Scopes = []string{"local", "regional", "national"}

// ErrTransition is returned when a status change is not allowed from the current status;
// it becomes a 409.
var ErrTransition = errors.New("transition not allowed")

// Meeting is how often, when and how long a CoP agrees to meet.
type Meeting struct {
	Frequency       string   `json:"frequency"`
	DurationMinutes int      `json:"duration_minutes"`
	Format          []string `json:"format"`
	// When is the co-designed time in words ("second Tuesday, 10:00"); optional.
	When string `json:"when,omitempty"`
}

// Contact is the person a hub talks to about an application. Personal data: it stays in
// the registry and never goes into an event.
type Contact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	// Role is their role or organisation, optional.
	Role string `json:"role,omitempty"`
}

// CoP is a Community of Practice as the registry keeps it.
type CoP struct {
	ID                string
	Region            string
	Name              string
	Scope             string
	Purpose           string
	Topics            []string
	HostOrganisations []string
	Meeting           Meeting
	Status            Status
	Stage             Stage
	DecisionReason    string
	RetiredReason     string
	CharterVersion    int
	// ApplicantID is the person who proposed or applied; they see the application and
	// edit it when the hub asks for changes. Empty once they are erased.
	ApplicantID string
	Contact     Contact
	// Round counts submissions: 1 for the proposal, one more each resubmission.
	Round int
	// ChangesRequested is the hub's latest request for changes, kept after resubmission
	// so the hub can see what it asked.
	ChangesRequested string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Propose builds a new CoP in onboarding, at the first Wenger stage.
func Propose(id string, c CoP) (*CoP, events.Event) {
	c.ID = id
	c.Status = StatusProposed
	c.Stage = Stages[0]
	c.Round = 1
	if c.Topics == nil {
		c.Topics = []string{}
	}
	if c.HostOrganisations == nil {
		c.HostOrganisations = []string{}
	}
	return &c, events.CoPProposed{
		CoPID: c.ID, Region: c.Region, Name: c.Name, Scope: c.Scope,
		Topics: c.Topics, HostOrganisations: c.HostOrganisations, Stage: string(c.Stage),
		ApplicantID: c.ApplicantID,
	}
}

// Decide approves or declines a proposed CoP. Only a proposal can be approved: deciding
// twice is a conflict, not a silent success, so two hub officers cannot overwrite each other.
// A proposal waiting for changes can be declined (the group may never come back) but not
// approved: the hub asked for changes it has not seen yet.
func (c *CoP) Decide(approve bool, reason string) (events.Event, error) {
	if c.Status != StatusProposed && (approve || c.Status != StatusChangesRequested) {
		return nil, fmt.Errorf("%w: CoP %s is %s; only a proposed CoP can be approved, and only a proposed one or one waiting for changes declined", ErrTransition, c.ID, c.Status)
	}
	c.DecisionReason = reason
	if approve {
		c.Status = StatusApproved
		return events.CoPApproved{CoPID: c.ID, Region: c.Region, Reason: reason, ApplicantID: c.ApplicantID}, nil
	}
	c.Status = StatusDeclined
	return events.CoPDeclined{CoPID: c.ID, Region: c.Region, Reason: reason, ApplicantID: c.ApplicantID}, nil
}

// RequestChanges sends a proposal back to its applicant with what the hub asks to change.
// Only a proposal waiting for the hub's decision can be sent back.
func (c *CoP) RequestChanges(reason string) (events.Event, error) {
	if c.Status != StatusProposed {
		return nil, fmt.Errorf("%w: CoP %s is %s; changes can be asked only of a proposal awaiting a decision", ErrTransition, c.ID, c.Status)
	}
	if c.ApplicantID == "" {
		return nil, fmt.Errorf("%w: CoP %s has no applicant to make changes", ErrTransition, c.ID)
	}
	c.Status = StatusChangesRequested
	c.ChangesRequested = reason
	return events.CoPChangesRequested{CoPID: c.ID, Region: c.Region, ApplicantID: c.ApplicantID,
		Reason: reason, Round: c.Round}, nil
}

// Edit is what an applicant may change of their proposal when resubmitting: everything
// but the region, whose hub is the one deciding.
type Edit struct {
	Name              string
	Scope             string
	Purpose           string
	Topics            []string
	HostOrganisations []string
	Meeting           Meeting
	Contact           Contact
}

// Resubmit applies the applicant's edit to a proposal the hub asked changes of and puts it
// back in the hub's queue as the next round.
func (c *CoP) Resubmit(e Edit) (events.Event, error) {
	if c.Status != StatusChangesRequested {
		return nil, fmt.Errorf("%w: CoP %s is %s; a proposal can be resubmitted only when the hub asked for changes", ErrTransition, c.ID, c.Status)
	}
	c.Name, c.Scope, c.Purpose, c.Topics, c.HostOrganisations = e.Name, e.Scope, e.Purpose, e.Topics, e.HostOrganisations
	c.Meeting, c.Contact = e.Meeting, e.Contact
	c.Status = StatusProposed
	c.Round++
	return events.CoPResubmitted{CoPID: c.ID, Region: c.Region, ApplicantID: c.ApplicantID, Round: c.Round,
		Name: c.Name, Scope: c.Scope, Topics: c.Topics, HostOrganisations: c.HostOrganisations}, nil
}

// Running reports whether the CoP is approved and not yet closed.
func (c *CoP) Running() bool {
	return c.Status == StatusApproved
}

// PublishCharter moves the CoP to its next charter version. A proposal may draft its
// charter before approval; a declined or retired CoP has no charter to change.
func (c *CoP) PublishCharter() (events.Event, error) {
	if c.Status == StatusDeclined || c.Status == StatusRetired {
		return nil, fmt.Errorf("%w: CoP %s is %s; its charter cannot change", ErrTransition, c.ID, c.Status)
	}
	c.CharterVersion++
	return events.CharterPublished{CoPID: c.ID, Region: c.Region, Version: c.CharterVersion}, nil
}

// ChangeStage records a self-assessed stage. The same stage again changes nothing and
// publishes nothing.
func (c *CoP) ChangeStage(to Stage) (events.Event, error) {
	if c.Status == StatusDeclined || c.Status == StatusRetired {
		return nil, fmt.Errorf("%w: CoP %s is %s; its stage cannot change", ErrTransition, c.ID, c.Status)
	}
	if c.Stage == to {
		return nil, nil
	}
	from := c.Stage
	c.Stage = to
	return events.StageChanged{CoPID: c.ID, Region: c.Region, From: string(from), To: string(to)}, nil
}

// Retire closes a running CoP for good.
func (c *CoP) Retire(reason string) (events.Event, error) {
	if !c.Running() {
		return nil, fmt.Errorf("%w: CoP %s is %s; only an approved CoP can retire", ErrTransition, c.ID, c.Status)
	}
	c.Status = StatusRetired
	c.RetiredReason = reason
	return events.CoPRetired{CoPID: c.ID, Region: c.Region, Reason: reason}, nil
}

// Charter is one published version of a CoP's aims, Terms of Reference and Code of Practice.
type Charter struct {
	CoPID            string    `json:"cop_id"`
	Version          int       `json:"version"`
	Aims             string    `json:"aims"`
	TermsOfReference string    `json:"terms_of_reference"`
	CodeOfPractice   string    `json:"code_of_practice"`
	PublishedAt      time.Time `json:"published_at"`
}
