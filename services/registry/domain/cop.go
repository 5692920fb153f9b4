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

// Statuses. A CoP is proposed by a hub, then approved or declined; an approved CoP is
// finally retired. Whether a running CoP is active or dormant is not the registry's record:
// the console derives it from the sessions the CoP holds.
const (
	StatusProposed Status = "proposed"
	StatusApproved Status = "approved"
	StatusDeclined Status = "declined"
	StatusRetired  Status = "retired"
)

// Statuses lists every status, for validating filters.
var Statuses = []Status{StatusProposed, StatusApproved, StatusDeclined, StatusRetired}

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
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Propose builds a new CoP in onboarding, at the first Wenger stage.
func Propose(id string, c CoP) (*CoP, events.Event) {
	c.ID = id
	c.Status = StatusProposed
	c.Stage = Stages[0]
	if c.Topics == nil {
		c.Topics = []string{}
	}
	if c.HostOrganisations == nil {
		c.HostOrganisations = []string{}
	}
	return &c, events.CoPProposed{
		CoPID: c.ID, Region: c.Region, Name: c.Name, Scope: c.Scope,
		Topics: c.Topics, HostOrganisations: c.HostOrganisations, Stage: string(c.Stage),
	}
}

// Decide approves or declines a proposed CoP. Only a proposal can be decided: deciding
// twice is a conflict, not a silent success, so two hub officers cannot overwrite each other.
func (c *CoP) Decide(approve bool, reason string) (events.Event, error) {
	if c.Status != StatusProposed {
		return nil, fmt.Errorf("%w: CoP %s is %s; only a proposed CoP can be decided", ErrTransition, c.ID, c.Status)
	}
	c.DecisionReason = reason
	if approve {
		c.Status = StatusApproved
		return events.CoPApproved{CoPID: c.ID, Region: c.Region, Reason: reason}, nil
	}
	c.Status = StatusDeclined
	return events.CoPDeclined{CoPID: c.ID, Region: c.Region, Reason: reason}, nil
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
