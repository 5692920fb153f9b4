package domain_test

import (
	"testing"
	"time"

	"github.com/copnet/copnet/services/knowledge/domain"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func project(id, cop, region, from, to string, topics []string, c ...domain.Community) domain.Project {
	return domain.Project{ID: id, CoPID: cop, Region: region, Organisation: "org-" + cop, Topics: topics,
		Communities: c, StartsOn: day(from), EndsOn: day(to)}
}

var (
	geelongYouth = domain.Community{Place: "au.vic.geelong", Group: "young people"}
	vicYouth     = domain.Community{Place: "au.vic", Group: "young people"}
	ballaratOld  = domain.Community{Place: "au.vic.ballarat", Group: "older people"}
	rule         = domain.OverlapRule{GapDays: 30}
)

func TestOverlapRule(t *testing.T) {
	base := project("a", "cop-a", "vic", "2026-03-01", "2026-03-31", []string{"mental health"}, geelongYouth)
	cases := []struct {
		name  string
		other domain.Project
		want  domain.Kind // "" means no overlap
	}{
		{"same community, overlapping windows", project("b", "cop-b", "nsw", "2026-03-15", "2026-04-15", []string{"housing"}, geelongYouth), domain.KindFatigue},
		{"same community, 20 days apart", project("b", "cop-b", "nsw", "2026-04-20", "2026-05-10", nil, geelongYouth), domain.KindFatigue},
		{"same community, 60 days apart", project("b", "cop-b", "vic", "2026-05-30", "2026-06-30", []string{"mental health"}, geelongYouth), ""},
		{"same community, exactly the gap apart", project("b", "cop-b", "vic", "2026-04-30", "2026-05-30", nil, geelongYouth), ""},
		{"a locality inside a region-wide project", project("b", "cop-b", "nsw", "2026-03-01", "2026-03-02", nil, vicYouth), domain.KindFatigue},
		{"same topic, same region, other community", project("b", "cop-b", "vic", "2026-03-20", "2026-04-30", []string{"mental health"}, ballaratOld), domain.KindDuplication},
		{"same topic, same region, other community, half a year later", project("b", "cop-b", "vic", "2026-09-01", "2026-09-30", []string{"mental health"}, ballaratOld), ""},
		{"same topic, other region, other community", project("b", "cop-b", "nsw", "2026-03-01", "2026-03-31", []string{"mental health"}, ballaratOld), ""},
		{"same place, other group", project("b", "cop-b", "vic", "2026-03-01", "2026-03-31", nil, domain.Community{Place: "au.vic.geelong", Group: "farmers"}), ""},
		{"sibling localities are not one community", project("b", "cop-b", "nsw", "2026-03-01", "2026-03-31", nil, domain.Community{Place: "au.vic.geelongwest", Group: "young people"}), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, pair := range [][2]domain.Project{{base, tc.other}, {tc.other, base}} {
				got, ok := rule.Compare(pair[0], pair[1])
				if tc.want == "" {
					if ok {
						t.Fatalf("got %+v, want no overlap", got)
					}
					continue
				}
				if !ok || got.Kind != tc.want {
					t.Fatalf("got %+v (%v), want %s", got, ok, tc.want)
				}
				if got.Score <= 0 || got.Score > 1 {
					t.Errorf("score %v outside (0, 1]", got.Score)
				}
			}
		})
	}
}

func TestOwnProjectsDoNotOverlap(t *testing.T) {
	a := project("a", "cop-a", "vic", "2026-03-01", "2026-03-31", []string{"x"}, geelongYouth)
	b := project("b", "cop-a", "vic", "2026-03-01", "2026-03-31", []string{"x"}, geelongYouth)
	if got, ok := rule.Compare(a, b); ok {
		t.Errorf("one CoP's and organisation's two projects overlap: %+v", got)
	}
	b.Organisation = "a partner"
	if _, ok := rule.Compare(a, b); !ok {
		t.Error("the same CoP working with another organisation should still be flagged")
	}
}

func TestFatigueScoreGrowsWithClosenessAndTopics(t *testing.T) {
	a := project("a", "cop-a", "vic", "2026-03-01", "2026-03-31", []string{"x"}, geelongYouth)
	near := project("b", "cop-b", "vic", "2026-03-10", "2026-03-20", []string{"x"}, geelongYouth)
	far := project("c", "cop-c", "vic", "2026-04-25", "2026-05-20", []string{"x"}, geelongYouth)
	offTopic := project("d", "cop-d", "vic", "2026-03-10", "2026-03-20", []string{"y"}, geelongYouth)
	n, _ := rule.Compare(a, near)
	f, _ := rule.Compare(a, far)
	o, _ := rule.Compare(a, offTopic)
	if n.Score != 1 || f.Score >= n.Score || o.Score >= n.Score {
		t.Errorf("scores near %v, far %v, off topic %v: want near = 1 above both", n.Score, f.Score, o.Score)
	}
}

func TestPlaces(t *testing.T) {
	for _, p := range []string{"au", "au.vic", "au.vic.geelong", "nz.otago.wanaka"} {
		if !domain.ValidPlace(p) {
			t.Errorf("%q should be a place code", p)
		}
	}
	for _, p := range []string{"", "AU", "au.", ".au", "au..vic", "au vic"} {
		if domain.ValidPlace(p) {
			t.Errorf("%q should not be a place code", p)
		}
	}
	got := domain.Ancestors("au.vic.geelong")
	if len(got) != 3 || got[0] != "au" || got[1] != "au.vic" || got[2] != "au.vic.geelong" {
		t.Errorf("ancestors = %v", got)
	}
}

func TestTaxonomyMakesSynonymsMeet(t *testing.T) {
	tax := domain.Taxonomy{"youth": "young people", "young people": "young people"}
	got := tax.Canonical([]string{"Youth", " young  People ", "Housing"})
	if len(got) != 2 || got[0] != "housing" || got[1] != "young people" {
		t.Errorf("canonical = %v, want [housing young people]", got)
	}
}

func TestMatchExpertsNearestFirstWithinVisibility(t *testing.T) {
	experts := []domain.Expert{
		{ExpertiseID: "1", PersonID: "far", Region: "nsw", CoPID: "cop-n", Topics: []string{"x"}, Visibility: domain.VisibleNational},
		{ExpertiseID: "2", PersonID: "region", Region: "vic", CoPID: "cop-v2", Topics: []string{"x"}, Visibility: domain.VisibleRegion},
		{ExpertiseID: "3", PersonID: "cop", Region: "vic", CoPID: "cop-v1", Topics: []string{"x"}, Visibility: domain.VisibleCoP},
		{ExpertiseID: "4", PersonID: "hidden", Region: "nsw", CoPID: "cop-n", Topics: []string{"x"}, Visibility: domain.VisibleRegion},
		{ExpertiseID: "5", PersonID: "other cop only", Region: "vic", CoPID: "cop-v2", Topics: []string{"x"}, Visibility: domain.VisibleCoP},
		{ExpertiseID: "6", PersonID: "asker", Region: "vic", CoPID: "cop-v1", Topics: []string{"x"}, Visibility: domain.VisibleNational},
		{ExpertiseID: "7", PersonID: "off topic", Region: "vic", CoPID: "cop-v1", Topics: []string{"y"}, Visibility: domain.VisibleNational},
	}
	got := domain.MatchExperts("asker", "cop-v1", "vic", []string{"x"}, experts)
	var people []string
	for _, m := range got {
		people = append(people, m.PersonID)
	}
	if len(people) != 3 || people[0] != "cop" || people[1] != "region" || people[2] != "far" {
		t.Errorf("matched %v, want [cop region far]", people)
	}
}
