package domain_test

import (
	"errors"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/registry/domain"
)

func proposed() *domain.CoP {
	c, _ := domain.Propose("c1", domain.CoP{Region: "vic", Name: "Youth mental health"})
	return c
}

func TestDecideOnlyFromProposed(t *testing.T) {
	c := proposed()
	ev, err := c.Decide(true, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ev.(events.CoPApproved); !ok || c.Status != domain.StatusApproved {
		t.Fatalf("want approved, got %v %T", c.Status, ev)
	}
	if _, err := c.Decide(false, "late"); !errors.Is(err, domain.ErrTransition) {
		t.Fatalf("second decision: want ErrTransition, got %v", err)
	}
	d := proposed()
	ev, err = d.Decide(false, "duplicate of an existing CoP")
	if err != nil || d.Status != domain.StatusDeclined {
		t.Fatalf("decline: %v %v", d.Status, err)
	}
	if _, ok := ev.(events.CoPDeclined); !ok {
		t.Fatalf("want CoPDeclined, got %T", ev)
	}
	if _, err := d.PublishCharter(); !errors.Is(err, domain.ErrTransition) {
		t.Fatal("a declined CoP must not publish a charter")
	}
}

func TestCharterVersionsCount(t *testing.T) {
	c := proposed()
	for want := 1; want <= 3; want++ {
		ev, err := c.PublishCharter()
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.(events.CharterPublished).Version; got != want {
			t.Fatalf("version %d, want %d", got, want)
		}
	}
}

func TestStageAndRetire(t *testing.T) {
	c := proposed()
	if ev, _ := c.ChangeStage("potential"); ev != nil {
		t.Fatal("same stage must publish nothing")
	}
	ev, err := c.ChangeStage("maturing")
	if err != nil || ev.(events.StageChanged).From != "potential" {
		t.Fatalf("stage change: %v %v", ev, err)
	}
	if _, err := c.Retire("done"); !errors.Is(err, domain.ErrTransition) {
		t.Fatal("a proposal cannot retire")
	}
	c.Decide(true, "")
	if _, err := c.Retire("merged"); err != nil || c.Status != domain.StatusRetired {
		t.Fatalf("retire: %v %v", c.Status, err)
	}
	if _, err := c.ChangeStage("stewardship"); !errors.Is(err, domain.ErrTransition) {
		t.Fatal("a retired CoP keeps its stage")
	}
	if !domain.ValidStage("transformation") || domain.ValidStage("adolescent") {
		t.Fatal("ValidStage wrong")
	}
}
