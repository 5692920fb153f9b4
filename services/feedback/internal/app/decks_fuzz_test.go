package app

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/feedback/domain"
)

// FuzzCreateDeckBody feeds POST /v1/decks bodies through the route's decoder and the
// deck's validation: nothing panics, every refusal is a 400 naming a field, and an
// accepted deck has 1 to 10 open polls whose questions validate and tally.
func FuzzCreateDeckBody(f *testing.F) {
	for _, seed := range []string{
		`{"cop_id":"c","title":"Session","questions":[{"kind":"scale","question":"How?","scale":{"min":1,"max":5}},{"kind":"words","question":"Word?"}]}`,
		`{"cop_id":"c","title":"S","questions":[{"kind":"ranking","question":"Rank","options":["a","b"],"purpose":"learning_priorities","min_responses":3}]}`,
		`{"cop_id":"c","title":"S","questions":[{"kind":"choice","question":"Which?","options":["a","a"]},{"kind":"scale","question":"?","scale":{"min":-9223372036854775808,"max":9223372036854775807}}]}`,
		`{"cop_id":"c","title":"","questions":[]}`, `{"cop_id":"c","title":"S","questions":null}`,
		`{"cop_id":"c","title":"S","questions":[{},{},{},{},{},{},{},{},{},{},{}]}`,
		`{"questions":[{"kind":"words","question":"w","audience":"members"}]}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v1/decks", bytes.NewReader(body))
		var in NewDeck
		if err := httpx.DecodeJSON(r, &in); err != nil {
			requireField(t, err)
			return
		}
		polls, err := in.validate(now)
		if err != nil {
			requireField(t, err)
			return
		}
		if len(polls) < 1 || len(polls) > domain.MaxDeckQuestions || in.Title == "" {
			t.Fatalf("accepted %s as %d polls", body, len(polls))
		}
		for _, p := range polls {
			var v apperr.Validator
			domain.ValidateQuestion(&v, p.Questions[0])
			if v.Err() != nil || p.Audience != domain.AudienceOpen || p.MinResponses < domain.MinMinResponses {
				t.Fatalf("accepted %s but poll %+v does not validate: %v", body, p, v.Err())
			}
			domain.Tally(p.Questions, nil, p.MinResponses)
		}
	})
}
