package registry_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

type page struct {
	CoPs       []cop  `json:"cops"`
	NextCursor string `json:"next_cursor"`
}

// listAll follows next_cursor from the first page to the last and returns every CoP in
// the order served, failing on a page larger than limit.
func (e *env) listAll(tok, query string, limit int) []cop {
	e.t.Helper()
	var all []cop
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			e.t.Fatalf("listing %q does not end", query)
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			e.t.Fatal(err)
		}
		q.Set("limit", fmt.Sprint(limit))
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p page
		e.must(http.StatusOK, &p, tok, "GET", "/v1/cops?"+q.Encode(), "")
		if len(p.CoPs) > limit {
			e.t.Fatalf("page of %d CoPs, limit %d", len(p.CoPs), limit)
		}
		all = append(all, p.CoPs...)
		if p.NextCursor == "" {
			return all
		}
		cursor = p.NextCursor
	}
}

func ids(cs []cop) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// TestListing covers paging, each role's view of the listing, the filters, and bad
// parameters.
func TestListing(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	e.createRegion("wa")

	// vic: two approved (one at stage coalescing), one proposed, one declined, one retired;
	// wa: one approved, one proposed. Topics vary so the topic filter has work to do.
	var vic, wa, approved []string
	mk := func(region, name, topic string) cop {
		c := e.propose(region, name, topic)
		if region == "vic" {
			vic = append(vic, c.ID)
		} else {
			wa = append(wa, c.ID)
		}
		return c
	}
	a1 := mk("vic", "Youth A", "Youth")
	e.decide(a1.ID, "approve")
	a2 := mk("vic", "Aged care", "aged care")
	e.decide(a2.ID, "approve")
	e.must(http.StatusOK, nil, e.coordinator(a2.ID), "PUT", "/v1/cops/"+a2.ID+"/stage", `{"stage":"coalescing"}`)
	p1 := mk("vic", "Youth proposal", "youth")
	d1 := mk("vic", "Declined", "youth")
	e.decide(d1.ID, "decline")
	r1 := mk("vic", "Retired", "aged care")
	e.decide(r1.ID, "approve")
	e.must(http.StatusOK, nil, e.national(), "POST", "/v1/cops/"+r1.ID+"/retire", `{"reason":"merged"}`)
	w1 := mk("wa", "Youth WA", "youth")
	e.decide(w1.ID, "approve")
	w2 := mk("wa", "WA proposal", "aged care")
	approved = []string{a1.ID, a2.ID, w1.ID}
	every := append(append([]string{}, vic...), wa...)
	slices.Sort(every)
	slices.Sort(approved)

	t.Run("pages return every CoP exactly once", func(t *testing.T) {
		e := e.in(t)
		for _, limit := range []int{1, 2, 3, 7, 50} {
			got := ids(e.listAll(e.national(), "", limit))
			// Ids are ULIDs and pages are in id order, so sorted order is the served order.
			if !slices.Equal(got, every) {
				t.Errorf("limit %d: pages hold %v, want each of %v once", limit, got, every)
			}
		}
	})

	t.Run("a hub lists its own region only", func(t *testing.T) {
		e := e.in(t)
		got := ids(e.listAll(e.hub("vic"), "", 2))
		if want := slices.Sorted(slices.Values(vic)); !slices.Equal(got, want) {
			t.Errorf("hub of vic lists %v, want its region's %v", got, want)
		}
		got = ids(e.listAll(e.hub("vic"), "region=vic", 2))
		if want := slices.Sorted(slices.Values(vic)); !slices.Equal(got, want) {
			t.Errorf("hub of vic asking for vic lists %v, want %v", got, want)
		}
		p := e.do(e.hub("vic"), "GET", "/v1/cops?region=wa", "").problem(t, http.StatusForbidden)
		if !strings.Contains(p.Detail, "wa") {
			t.Errorf("403 detail %q does not name the region", p.Detail)
		}
		got = ids(e.listAll(e.national(), "region=wa", 1))
		if want := slices.Sorted(slices.Values(wa)); !slices.Equal(got, want) {
			t.Errorf("national asking for wa lists %v, want %v", got, want)
		}
	})

	t.Run("members and coordinators see running CoPs only", func(t *testing.T) {
		e := e.in(t)
		for name, tok := range map[string]string{"member": e.member(), "coordinator": e.coordinator(p1.ID)} {
			if got := ids(e.listAll(tok, "", 2)); !slices.Equal(got, approved) {
				t.Errorf("%s lists %v, want only the approved %v", name, got, approved)
			}
			for _, status := range []string{"proposed", "declined", "retired"} {
				if got := ids(e.listAll(tok, "status="+status, 10)); len(got) != 0 {
					t.Errorf("%s asking for status %s gets %v, want nothing", name, status, got)
				}
			}
			if got := ids(e.listAll(tok, "region=wa", 10)); !slices.Equal(got, []string{w1.ID}) {
				t.Errorf("%s asking for wa gets %v, want %v", name, got, []string{w1.ID})
			}
		}
	})

	t.Run("filters", func(t *testing.T) {
		e := e.in(t)
		sorted := func(s ...string) []string { return slices.Sorted(slices.Values(s)) }
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"status=approved", sorted(a1.ID, a2.ID, w1.ID)},
			{"status=proposed", sorted(p1.ID, w2.ID)},
			{"status=declined", sorted(d1.ID)},
			{"status=retired", sorted(r1.ID)},
			{"stage=coalescing", sorted(a2.ID)},
			{"stage=potential&status=approved", sorted(a1.ID, w1.ID)},
			{"topic=youth", sorted(a1.ID, p1.ID, d1.ID, w1.ID)},
			{"topic=YOUTH&region=vic", sorted(a1.ID, p1.ID, d1.ID)},
			{"topic=aged+care&status=proposed", sorted(w2.ID)},
			{"topic=gardening", []string{}},
		} {
			if got := ids(e.listAll(e.national(), tc.query, 2)); !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.query, got, tc.want)
			}
		}
	})

	t.Run("bad parameters name themselves", func(t *testing.T) {
		e := e.in(t)
		var first page
		e.must(http.StatusOK, &first, e.national(), "GET", "/v1/cops?limit=2", "")
		if first.NextCursor == "" {
			t.Fatal("no next_cursor on a first page of 2 out of 7")
		}
		for name, cursor := range map[string]string{
			"not base64":         "not*a*cursor",
			"base64 of garbage":  base64.RawURLEncoding.EncodeToString([]byte("' OR 1=1 --")),
			"an edited cursor":   "AAAA" + first.NextCursor[4:],
			"a truncated cursor": first.NextCursor[:len(first.NextCursor)-4],
		} {
			p := e.do(e.national(), "GET", "/v1/cops?limit=2&cursor="+url.QueryEscape(cursor), "").problem(t, http.StatusBadRequest)
			if !slices.Equal(p.fields(), []string{"cursor"}) {
				t.Errorf("%s: problem names %v, want [cursor]", name, p.fields())
			}
		}
		for query, field := range map[string]string{
			"limit=lots": "limit", "limit=501": "limit", "limit=-1": "limit",
			"status=thriving": "status", "stage=adolescent": "stage",
		} {
			p := e.do(e.national(), "GET", "/v1/cops?"+query, "").problem(t, http.StatusBadRequest)
			if !slices.Equal(p.fields(), []string{field}) {
				t.Errorf("%s: problem names %v, want [%s]", query, p.fields(), field)
			}
		}
	})
}
