package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/feedback/domain"
)

// questionSets are the polls fuzzed answers are checked against: each kind alone, and
// the service's own multi-question polls.
var questionSets = [][]domain.Question{scaleQ, choiceQ, rankingQ, wordsQ, domain.EvaluationQuestions(), domain.CheckinQuestions()}

// FuzzRespondBody feeds POST /v1/polls/{id}/responses (and by-code) bodies through the
// route's decoder, the ballot check and ParseAnswer for every kind of poll. Nothing
// panics; refusals are 400s naming a field; an accepted answer survives sealing and
// opening unchanged, fits one bucket (but for rankings) and tallies.
func FuzzRespondBody(f *testing.F) {
	keys := newKeys(f, "fuzz-node-secret-0123456789")
	ballot := keys.IssueBallot("poll-1")
	for _, seed := range []string{
		`{"ballot":"` + ballot + `","answer":3}`,
		`{"ballot":"` + ballot + `","answer":"Hawea"}`,
		`{"ballot":"x","answer":["funding","data","consent"]}`,
		`{"device_token":"0123456789abcdef","answer":["Confident!","maps"]}`,
		`{"answer":{"confidence":4,"usefulness":5,"takeaway":"rotation"}}`,
		`{"answer":{"meets_needs":"partly","change":["a","b","c","d"]}}`,
		`{"answer":{"confidence":9223372036854775807}}`,
		`{"answer":"\u0000"}`, `{"answer":null}`, `{"answer":1e400}`, `{}`, `[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in struct {
			Ballot      string          `json:"ballot"`
			DeviceToken string          `json:"device_token"`
			Answer      json.RawMessage `json:"answer"`
		}
		r := httptest.NewRequest("POST", "/v1/polls/poll-1/responses", bytes.NewReader(body))
		if err := httpx.DecodeJSON(r, &in); err != nil {
			if k, _ := apperr.KindOf(err); k != apperr.KindInvalid {
				t.Fatalf("decode refusal %v is not a 400", err)
			}
			return
		}
		keys.CheckBallot("poll-1", in.Ballot)
		keys.DeviceHash("poll-1", in.DeviceToken)
		for _, qs := range questionSets {
			a, err := domain.ParseAnswer(qs, in.Answer)
			if err != nil {
				var e *apperr.Error
				if !errors.As(err, &e) || e.Kind != apperr.KindInvalid || len(e.Fields) == 0 {
					t.Fatalf("refusal %v is not a 400 naming a field", err)
				}
				continue
			}
			plain, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			sealed := keys.Seal("poll-1", plain)
			if qs[0].Kind != domain.KindRanking && len(sealed) != len(keys.Seal("poll-1", []byte("{}"))) {
				t.Fatalf("answer %s seals to %d bytes, not one bucket", plain, len(sealed))
			}
			opened, err := keys.Open("poll-1", sealed)
			if err != nil {
				t.Fatal(err)
			}
			back, err := domain.DecodeAnswer(qs, opened)
			if err != nil || !reflect.DeepEqual(a, back) {
				t.Fatalf("answer %v read back as %v (%v)", a, back, err)
			}
			domain.Tally(qs, []domain.Answer{a, back, a}, 3)
		}
	})
}

// FuzzDecodeAnswer feeds stored answers (as a database could hold them, tampered with or
// not) to DecodeAnswer and the tally: an error or a result, never a panic.
func FuzzDecodeAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"answer":3}`, `{"answer":"Hawea"}`, `{"answer":["data","funding","consent"]}`, `{"answer":["x","x","x","x"]}`,
		`{"confidence":4,"usefulness":5,"takeaway":["rotation"]}`, `{"meets_needs":"yes","change":["less talk"]}`,
		`{"answer":-9223372036854775808}`, `{"answer":null}`, `{"answer":{}}`, `[]`, `null`, `"x"`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, qs := range questionSets {
			a, err := domain.DecodeAnswer(qs, raw)
			if err != nil {
				continue
			}
			domain.Tally(qs, []domain.Answer{a, a, a}, 3)
		}
	})
}

// FuzzStageAssessmentBody feeds POST /v1/cops/{id}/stage-assessments bodies through the
// route's decoder and the quiz scoring: a stage, or a 400 naming a field.
func FuzzStageAssessmentBody(f *testing.F) {
	all := map[string]string{}
	for _, q := range domain.Quiz {
		all[q.ID] = "c"
	}
	full, _ := json.Marshal(map[string]any{"answers": all})
	for _, seed := range []string{string(full), `{"answers":{"q1":"a"}}`, `{"answers":{"q1":"z","q99":"a"}}`, `{"answers":null}`, `{"answers":{"":""}}`, `{}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in struct {
			Answers map[string]string `json:"answers"`
		}
		r := httptest.NewRequest("POST", "/v1/cops/c/stage-assessments", bytes.NewReader(body))
		if err := httpx.DecodeJSON(r, &in); err != nil {
			return
		}
		as, err := domain.Assess(in.Answers)
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || e.Kind != apperr.KindInvalid || len(e.Fields) == 0 {
				t.Fatalf("refusal %v is not a 400 naming a field", err)
			}
			return
		}
		if as.Stage == "" {
			t.Fatalf("answers %v gave no stage", in.Answers)
		}
	})
}
