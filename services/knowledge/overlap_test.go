package knowledge_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

type overlapView struct {
	ID         string   `json:"id"`
	Kind       string   `json:"kind"`
	Score      float64  `json:"score"`
	ProjectIDs []string `json:"project_ids"`
	Regions    []string `json:"regions"`
	Status     string   `json:"status"`
}

// TestSameCommunityAcrossRegionsIsOneFatigueOverlap: two CoPs of different regions map
// projects asking young people of Geelong; one overlap_detected goes out, not two, though
// both projects' events are consumed, one is delivered again under a new event id (as
// federation may), and synonyms name the group differently.
func TestSameCommunityAcrossRegionsIsOneFatigueOverlap(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic", "cop-nsw", "nsw")
	e.must(t, http.StatusCreated, "POST", "/v1/topics", e.national(t),
		map[string]any{"name": "young people", "synonyms": []string{"youth"}}, nil)

	var a, b struct{ ID string }
	e.must(t, http.StatusCreated, "POST", "/v1/projects", e.coordinator(t, "cop-vic"),
		project("cop-vic", "Youth wellbeing survey", []string{"Mental health"}, "au.vic.geelong", "Young People", "2026-03-01", "2026-03-31"), &a)
	e.must(t, http.StatusCreated, "POST", "/v1/projects", e.hub(t, "nsw"),
		project("cop-nsw", "Jobs listening tour", []string{"employment"}, "au.vic", "youth", "2026-04-15", "2026-05-15"), &b)

	testkit.Eventually(t, waitFor, func() error {
		if n := e.processed(t, "on_project_mapped"); n != 2 {
			return fmt.Errorf("%d project_mapped applied, want 2", n)
		}
		if got := payloads[events.OverlapDetected](t, e); len(got) != 1 {
			return fmt.Errorf("%d overlap_detected published, want 1", len(got))
		}
		return nil
	})
	// The same project again under a new event id: the map and the overlap stay as they are.
	e.Publish(t, events.ProjectMapped{ProjectID: b.ID, CoPID: "cop-nsw", Region: "nsw", Organisation: "org of cop-nsw",
		Topics: []string{"employment"}, Communities: []events.Community{{Place: "au.vic", Group: "youth"}},
		StartsOn: "2026-04-15", EndsOn: "2026-05-15"})
	testkit.Eventually(t, waitFor, func() error {
		if n := e.processed(t, "on_project_mapped"); n != 3 {
			return fmt.Errorf("%d project_mapped applied, want 3", n)
		}
		return nil
	})
	got := payloads[events.OverlapDetected](t, e)
	if len(got) != 1 {
		t.Fatalf("%d overlap_detected after a repeated project_mapped, want 1: %+v", len(got), got)
	}
	ov := got[0]
	if ov.Kind != "fatigue" || len(ov.Regions) != 2 || ov.Regions[0] != "nsw" || ov.Regions[1] != "vic" {
		t.Errorf("overlap = %+v, want fatigue across nsw and vic", ov)
	}

	// Both hubs see it; a member does not.
	var list struct{ Overlaps []overlapView }
	e.must(t, http.StatusOK, "GET", "/v1/overlaps?kind=fatigue", e.hub(t, "nsw"), nil, &list)
	if len(list.Overlaps) != 1 || list.Overlaps[0].Status != "open" {
		t.Fatalf("the nsw hub sees %+v, want the one open overlap", list.Overlaps)
	}
	e.must(t, http.StatusForbidden, "GET", "/v1/overlaps", e.member(t, "p1"), nil, nil)

	// The vic hub coordinates it: overlap_resolved once, and the listing shows it.
	var resolved overlapView
	e.must(t, http.StatusOK, "PUT", "/v1/overlaps/"+ov.OverlapID, e.hub(t, "vic"),
		map[string]string{"status": "coordinated", "note": "joint sessions"}, &resolved)
	if resolved.Status != "coordinated" {
		t.Errorf("resolved = %+v", resolved)
	}
	e.must(t, http.StatusOK, "PUT", "/v1/overlaps/"+ov.OverlapID, e.hub(t, "vic"),
		map[string]string{"status": "coordinated", "note": "joint sessions, again"}, nil)
	e.must(t, http.StatusForbidden, "PUT", "/v1/overlaps/"+ov.OverlapID, e.hub(t, "wa"),
		map[string]string{"status": "dismissed"}, nil)
	e.must(t, http.StatusOK, "GET", "/v1/overlaps?status=coordinated", e.national(t), nil, &list)
	if len(list.Overlaps) != 1 {
		t.Errorf("coordinated overlaps: %+v", list.Overlaps)
	}
	testkit.Eventually(t, waitFor, func() error {
		if got := payloads[events.OverlapResolved](t, e); len(got) != 1 {
			return fmt.Errorf("%d overlap_resolved, want 1 (the second PUT did not change the status)", len(got))
		}
		return nil
	})
}

// TestProjectFromAnotherNodeJoinsTheMap: a project_mapped this node did not produce (a
// child node's, as federation delivers it) is stored and compared like a local one.
func TestProjectFromAnotherNodeJoinsTheMap(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic")
	e.must(t, http.StatusCreated, "POST", "/v1/projects", e.coordinator(t, "cop-vic"),
		project("cop-vic", "Soil health days", []string{"soil"}, "au.vic.ballarat", "farmers", "2026-06-01", "2026-06-30"), nil)
	e.Publish(t, events.ProjectMapped{ProjectID: "remote-1", CoPID: "cop-far", Region: "vic", Organisation: "Landcare",
		Topics: []string{"Soil"}, Communities: []events.Community{{Place: "au.vic.geelong", Group: "farmers"}},
		StartsOn: "2026-06-15", EndsOn: "2026-07-15", Title: "Regenerative farming"})
	testkit.Eventually(t, waitFor, func() error {
		got := payloads[events.OverlapDetected](t, e)
		if len(got) != 1 || got[0].Kind != "duplication" {
			return fmt.Errorf("overlaps %+v, want one duplication (same topic and region, other community)", got)
		}
		return nil
	})
	var list struct {
		Projects []struct{ ID, Title, Origin string }
	}
	e.must(t, http.StatusOK, "GET", "/v1/projects?topic=SOIL", e.hub(t, "vic"), nil, &list)
	if len(list.Projects) != 2 {
		t.Fatalf("projects on soil in vic: %+v", list.Projects)
	}
}

// TestBadProjectsAreRefusedWholly: every bad field is named, and nothing is stored.
func TestBadProjectsAreRefusedWholly(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic")
	body := project("cop-vic", "", []string{}, "AU Vic", "", "2026-05-01", "2026-04-01")
	code, raw := e.Do(t, "POST", "/v1/projects", e.national(t), body)
	if code != http.StatusBadRequest {
		t.Fatalf("→ %d %s, want 400", code, raw)
	}
	for _, field := range []string{"title", "topics", "communities[0].place", "communities[0].group", "ends_on"} {
		if !containsField(raw, field) {
			t.Errorf("the problem does not name %s: %s", field, raw)
		}
	}
	e.must(t, http.StatusUnprocessableEntity, "POST", "/v1/projects", e.national(t),
		project("cop-unknown", "T", []string{"x"}, "au", "g", "2026-01-01", "2026-01-02"), nil)
	var list struct{ Projects []any }
	e.must(t, http.StatusOK, "GET", "/v1/projects", e.national(t), nil, &list)
	if len(list.Projects) != 0 {
		t.Errorf("refused projects were stored: %v", list.Projects)
	}
}
