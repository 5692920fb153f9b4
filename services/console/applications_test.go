package console_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
)

// TestApplicationRoundsInAnyOrder: an application that went back and forth (proposed, asked
// for changes, resubmitted renamed, asked again, resubmitted, approved) ends approved, under
// its latest name, counted once, whatever order the console's consumers applied the events
// in; and one still waiting for its applicant's changes counts as proposed.
func TestApplicationRoundsInAnyOrder(t *testing.T) {
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	story := []events.Event{
		events.RegionCreated{RegionID: "vic", Name: "Victoria"},
		events.CoPProposed{CoPID: "a1", Region: "vic", Name: "Carers", Scope: "local", Topics: []string{"carers"}, Stage: "potential", ApplicantID: "p1"},
		events.CoPChangesRequested{CoPID: "a1", Region: "vic", ApplicantID: "p1", Reason: "who facilitates?", Round: 1},
		events.CoPResubmitted{CoPID: "a1", Region: "vic", ApplicantID: "p1", Round: 2, Name: "Western carers", Scope: "local", Topics: []string{"carers"}},
		events.CoPChangesRequested{CoPID: "a1", Region: "vic", ApplicantID: "p1", Reason: "when?", Round: 2},
		events.CoPResubmitted{CoPID: "a1", Region: "vic", ApplicantID: "p1", Round: 3, Name: "Western carers network", Scope: "local", Topics: []string{"carers", "respite"}},
		events.CoPApproved{CoPID: "a1", Region: "vic", ApplicantID: "p1"},
		events.CoPProposed{CoPID: "a2", Region: "vic", Name: "Waiting", Scope: "local", Stage: "potential", ApplicantID: "p2"},
		events.CoPChangesRequested{CoPID: "a2", Region: "vic", ApplicantID: "p2", Reason: "more", Round: 1},
	}
	stamped := make([]envelopedEvent, len(story))
	for i, ev := range story {
		stamped[i] = envelopedEvent{ev, events.Envelope{ID: fmt.Sprintf("ev-%02d", i), Type: ev.EventName().Type(), Source: "national",
			Time: base.Add(time.Duration(i) * time.Minute)}}
	}
	orders := map[string][]int{
		"recorded":                        {0, 1, 2, 3, 4, 5, 6, 7, 8},
		"reversed":                        {8, 7, 6, 5, 4, 3, 2, 1, 0},
		"shuffled":                        {3, 6, 0, 2, 8, 5, 1, 4, 7},
		"approval first, old rounds last": {6, 5, 0, 4, 3, 2, 1, 8, 7},
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			pool, _ := projectionDB(t)
			evs := make([]envelopedEvent, len(order))
			for i, j := range order {
				evs[i] = stamped[j]
			}
			applyAll(t, pool, evs)
			ctx := context.Background()
			var status, copName string
			if err := pool.QueryRow(ctx, `SELECT status, name FROM cops WHERE id = 'a1'`).Scan(&status, &copName); err != nil {
				t.Fatal(err)
			}
			if status != "approved" || copName != "Western carers network" {
				t.Errorf("a1 = %s %q, want approved under its latest name", status, copName)
			}
			if err := pool.QueryRow(ctx, `SELECT status FROM cops WHERE id = 'a2'`).Scan(&status); err != nil {
				t.Fatal(err)
			}
			if status != "proposed" {
				t.Errorf("a2 waiting for changes is %s, want proposed (still in onboarding)", status)
			}
			got := aggregates(t, pool)["region_counts"]
			for _, want := range []string{"vic/cops=2", "vic/status:approved=1", "vic/status:proposed=1"} {
				if !contains(got, want) {
					t.Errorf("region counts %v lack %s", got, want)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
