package app

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/feedback/domain"
)

// FuzzCreatePollBody feeds POST /v1/polls bodies through the route's decoder and the
// poll's validation: nothing panics, every refusal is a 400 naming a field, and every
// accepted poll's question validates again and tallies without trouble (its cost bounded
// by the answers, whatever its scale).
func FuzzCreatePollBody(f *testing.F) {
	for _, seed := range []string{
		`{"cop_id":"c","kind":"choice","question":"Which?","options":["a","b"]}`,
		`{"cop_id":"c","kind":"scale","question":"How?","scale":{"min":1,"max":5,"labels":{"1":"low"}}}`,
		`{"cop_id":"c","kind":"scale","question":"How?","scale":{"min":-4611686018427387904,"max":4611686018427387904}}`,
		`{"cop_id":"c","kind":"scale","question":"How?","scale":{"min":-9223372036854775808,"max":9223372036854775807}}`,
		`{"cop_id":"c","kind":"ranking","question":"Rank","options":["x","y","z"],"purpose":"learning_priorities"}`,
		`{"cop_id":"c","kind":"words","question":"Word?","audience":"open","min_responses":3}`,
		`{"cop_id":"c","kind":"words","question":"Word?","min_responses":-1,"closes_at":"2020-01-01T00:00:00Z"}`,
		`{"cop_id":"c","kind":"choice","question":"\u0000","options":["a","a"]}`,
		`{"unknown":1}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v1/polls", bytes.NewReader(body))
		var in NewPoll
		if err := httpx.DecodeJSON(r, &in); err != nil {
			requireField(t, err)
			return
		}
		q, minResponses, err := in.validate(now)
		if err != nil {
			requireField(t, err)
			return
		}
		var v apperr.Validator
		domain.ValidateQuestion(&v, q)
		if v.Err() != nil || minResponses < domain.MinMinResponses {
			t.Fatalf("accepted %s but it does not validate: %v", body, v.Err())
		}
		if q.Kind == domain.KindScale && q.Scale.Max-q.Scale.Min > domain.MaxScaleSpan {
			t.Fatalf("accepted a scale of span %d", q.Scale.Max-q.Scale.Min)
		}
		domain.Tally([]domain.Question{q}, nil, minResponses)
	})
}

func requireField(t *testing.T, err error) {
	t.Helper()
	k, _ := apperr.KindOf(err)
	e, ok := err.(*apperr.Error)
	// A member named "" is refused by pkg/httpx as unknown without a field name (its
	// name is ""): the only 400 allowed to name none.
	if k != apperr.KindInvalid || !ok || (len(e.Fields) == 0 && !strings.Contains(e.Detail, "is not a known field")) {
		t.Fatalf("refusal %v is not a 400 naming a field", err)
	}
}
