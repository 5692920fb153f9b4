package knowledge_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// TestProjectPagesReturnEveryRowOnce walks GET /v1/projects by cursor, three at a time, over
// projects whose windows start on the same few days (ties the order breaks by id): every
// project comes back exactly once, in the order of one whole page, and the last page says
// so with an empty next_cursor. A cursor that is not one of ours is a 400.
func TestProjectPagesReturnEveryRowOnce(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-vic", "vic")
	coord := e.coordinator(t, "cop-vic")
	var mapped []string
	for i := range 11 {
		var p struct{ ID string }
		from := fmt.Sprintf("2026-0%d-01", 1+i%3)
		e.must(t, http.StatusCreated, "POST", "/v1/projects", coord,
			project("cop-vic", fmt.Sprintf("Project %d", i), []string{"t"}, "au.vic.geelong", "carers", from, "2026-12-01"), &p)
		mapped = append(mapped, p.ID)
	}
	type page struct {
		Projects []struct {
			ID string `json:"id"`
		} `json:"projects"`
		NextCursor string `json:"next_cursor"`
	}
	var whole page
	e.must(t, http.StatusOK, "GET", "/v1/projects?cop=cop-vic", coord, nil, &whole)
	if len(whole.Projects) != len(mapped) || whole.NextCursor != "" {
		t.Fatalf("one page holds %d projects and next_cursor %q, want %d and none", len(whole.Projects), whole.NextCursor, len(mapped))
	}
	var got []string
	cursor, pages := "", 0
	for {
		var p page
		e.must(t, http.StatusOK, "GET", "/v1/projects?cop=cop-vic&limit=3&cursor="+url.QueryEscape(cursor), coord, nil, &p)
		for _, pr := range p.Projects {
			got = append(got, pr.ID)
		}
		pages++
		if cursor = p.NextCursor; cursor == "" {
			break
		}
		if pages > len(mapped) {
			t.Fatalf("paging does not end: %v", got)
		}
	}
	var want []string
	for _, pr := range whole.Projects {
		want = append(want, pr.ID)
	}
	if !slices.Equal(got, want) || pages != 4 {
		t.Fatalf("walked %d pages %v, want 4 pages %v", pages, got, want)
	}
	for _, bad := range []string{"limit=0", "limit=501", "cursor=not-ours", "cursor=" + url.QueryEscape("MjAyNi0wMS0wMXw")} {
		e.must(t, http.StatusBadRequest, "GET", "/v1/projects?cop=cop-vic&"+bad, coord, nil, nil)
	}
}
