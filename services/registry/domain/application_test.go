package domain_test

import (
	"errors"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/registry/domain"
)

func applied() *domain.CoP {
	c, _ := domain.Propose("a1", domain.CoP{Region: "vic", Name: "Carers", ApplicantID: "p1",
		Contact: domain.Contact{Name: "Mia", Email: "mia@example.org"}})
	return c
}

// TestApplicationTransitions walks every onboarding step from every status: only the
// moves of the state machine succeed, each with its event; the others are ErrTransition
// and change nothing.
func TestApplicationTransitions(t *testing.T) {
	steps := map[string]func(*domain.CoP) (events.Event, error){
		"approve":         func(c *domain.CoP) (events.Event, error) { return c.Decide(true, "") },
		"decline":         func(c *domain.CoP) (events.Event, error) { return c.Decide(false, "no") },
		"request changes": func(c *domain.CoP) (events.Event, error) { return c.RequestChanges("say when") },
		"resubmit":        func(c *domain.CoP) (events.Event, error) { return c.Resubmit(domain.Edit{Name: "Carers West"}) },
		"retire":          func(c *domain.CoP) (events.Event, error) { return c.Retire("merged") },
	}
	allowed := map[domain.Status][]string{
		domain.StatusProposed:         {"approve", "decline", "request changes"},
		domain.StatusChangesRequested: {"decline", "resubmit"},
		domain.StatusApproved:         {"retire"},
		domain.StatusDeclined:         nil,
		domain.StatusRetired:          nil,
	}
	for status, ok := range allowed {
		for name, step := range steps {
			c := applied()
			c.Status = status
			before := *c
			ev, err := step(c)
			want := false
			for _, s := range ok {
				want = want || s == name
			}
			switch {
			case want && (err != nil || ev == nil):
				t.Errorf("%s from %s: %v, want it to happen with an event", name, status, err)
			case !want && !errors.Is(err, domain.ErrTransition):
				t.Errorf("%s from %s: %v, want ErrTransition", name, status, err)
			case !want && (c.Status != before.Status || c.Name != before.Name || c.Round != before.Round):
				t.Errorf("refused %s from %s changed the CoP to %+v", name, status, c)
			}
		}
	}
}

func TestRoundsAndEvents(t *testing.T) {
	c := applied()
	if c.Round != 1 {
		t.Fatalf("a new application is round %d", c.Round)
	}
	ev, _ := c.RequestChanges("say when")
	if got := ev.(events.CoPChangesRequested); got.ApplicantID != "p1" || got.Round != 1 || got.Reason != "say when" || c.ChangesRequested != "say when" {
		t.Errorf("changes requested: %+v, CoP %+v", got, c)
	}
	ev, _ = c.Resubmit(domain.Edit{Name: "Carers West", Topics: []string{"carers"}})
	if got := ev.(events.CoPResubmitted); got.Round != 2 || got.Name != "Carers West" || c.Status != domain.StatusProposed {
		t.Errorf("resubmitted: %+v, CoP %+v", got, c)
	}
	ev, _ = c.Decide(true, "")
	if got := ev.(events.CoPApproved); got.ApplicantID != "p1" {
		t.Errorf("approved: %+v, want the applicant's id", got)
	}
	// A hub's own proposal has nobody to ask.
	own := proposed()
	if _, err := own.RequestChanges("x"); !errors.Is(err, domain.ErrTransition) {
		t.Errorf("asking changes of a hub's own proposal: %v, want ErrTransition", err)
	}
}
