package domain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/services/feedback/domain"
)

func single(q domain.Question) []domain.Question {
	q.Key = "answer"
	return []domain.Question{q}
}

var (
	scaleQ   = single(domain.Question{Kind: domain.KindScale, Prompt: "Confidence?", Scale: &domain.Scale{Min: 1, Max: 5}})
	choiceQ  = single(domain.Question{Kind: domain.KindChoice, Prompt: "Where next?", Options: []string{"Wanaka", "Hawea", "Cardrona"}})
	rankingQ = single(domain.Question{Kind: domain.KindRanking, Prompt: "Topics?", Options: []string{"funding", "data", "consent"}})
	wordsQ   = single(domain.Question{Kind: domain.KindWords, Prompt: "One word?"})
)

// answers parses raw JSON answers as the API would, failing the test on a refusal.
func answers(t *testing.T, qs []domain.Question, raws ...string) []domain.Answer {
	t.Helper()
	var out []domain.Answer
	for _, raw := range raws {
		a, err := domain.ParseAnswer(qs, json.RawMessage(raw))
		if err != nil {
			t.Fatalf("answer %s: %v", raw, err)
		}
		out = append(out, a)
	}
	return out
}

func TestScaleGivesDistributionAndMean(t *testing.T) {
	r := domain.Tally(scaleQ, answers(t, scaleQ, "1", "4", "4", "5", "5", "5"), 5)
	q := r.Questions[0]
	want := map[string]int{"1": 1, "2": 0, "3": 0, "4": 2, "5": 3}
	if !reflect.DeepEqual(q.Distribution, want) || q.Mean == nil || *q.Mean != 4 {
		t.Fatalf("distribution %v mean %v, want %v mean 4", q.Distribution, q.Mean, want)
	}
	if r.Responses != 6 || r.Withheld {
		t.Fatalf("responses %d withheld %v", r.Responses, r.Withheld)
	}
}

func TestChoiceCountsEveryOption(t *testing.T) {
	r := domain.Tally(choiceQ, answers(t, choiceQ, `"Hawea"`, `"Hawea"`, `"Wanaka"`), 3)
	want := map[string]int{"Wanaka": 1, "Hawea": 2, "Cardrona": 0}
	if !reflect.DeepEqual(r.Questions[0].Counts, want) {
		t.Fatalf("counts %v, want %v", r.Questions[0].Counts, want)
	}
}

func order(r domain.Results) []string {
	var out []string
	for _, o := range r.Questions[0].Ranking {
		out = append(out, o.Option)
	}
	return out
}

func TestRankingIsBordaCount(t *testing.T) {
	r := domain.Tally(rankingQ, answers(t, rankingQ,
		`["data","funding","consent"]`, `["data","consent","funding"]`, `["funding","data","consent"]`), 3)
	q := r.Questions[0]
	if q.Method != "borda" || q.TieBreak != "first_places_then_poll_order" {
		t.Errorf("method %q tie-break %q", q.Method, q.TieBreak)
	}
	// data 2+2+1=5, funding 1+0+2=3, consent 0+1+0=1.
	want := []domain.RankedOption{
		{Option: "data", Position: 1, Score: 5, FirstPlaces: 2},
		{Option: "funding", Position: 2, Score: 3, FirstPlaces: 1},
		{Option: "consent", Position: 3, Score: 1, FirstPlaces: 0},
	}
	if !reflect.DeepEqual(q.Ranking, want) {
		t.Fatalf("ranking %+v, want %+v", q.Ranking, want)
	}
}

func TestRankingTiesBreakOnFirstPlacesThenPollOrder(t *testing.T) {
	r := domain.Tally(rankingQ, answers(t, rankingQ,
		`["consent","data","funding"]`, `["funding","data","consent"]`, `["consent","data","funding"]`,
		`["funding","data","consent"]`), 3)
	// consent 2+0+2+0=4, funding 0+2+0+2=4, data 1+1+1+1=4: a three-way tie on score.
	// First places: consent 2, funding 2, data 0; consent and funding then tie, and the
	// poll lists funding first.
	if got, want := order(r), []string{"funding", "consent", "data"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	// The same answers in another order give the same result.
	r2 := domain.Tally(rankingQ, answers(t, rankingQ,
		`["funding","data","consent"]`, `["consent","data","funding"]`, `["funding","data","consent"]`,
		`["consent","data","funding"]`), 3)
	if !reflect.DeepEqual(r, r2) {
		t.Fatalf("answer order changed the result: %+v vs %+v", r, r2)
	}
	// A complete tie falls back to the poll's order.
	r3 := domain.Tally(rankingQ, answers(t, rankingQ,
		`["data","funding","consent"]`, `["funding","consent","data"]`, `["consent","data","funding"]`), 3)
	if got, want := order(r3), []string{"funding", "data", "consent"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want the poll's %v", got, want)
	}
}

func TestWordsAreNormalisedAndCounted(t *testing.T) {
	r := domain.Tally(wordsQ, answers(t, wordsQ, `"Confident!"`, `" confident "`, `["CONFIDENT","tired"]`, `"hopeful"`), 3)
	want := []domain.WordCount{
		{Word: "confident", Count: 3, Frequency: 0.75},
		{Word: "hopeful", Count: 1, Frequency: 0.25},
		{Word: "tired", Count: 1, Frequency: 0.25},
	}
	if !reflect.DeepEqual(r.Questions[0].Words, want) {
		t.Fatalf("words %+v, want %+v", r.Questions[0].Words, want)
	}
	// One response repeating a word counts it once.
	r = domain.Tally(wordsQ, answers(t, wordsQ, `["calm","Calm.","calm"]`), 1)
	if r.Questions[0].Words[0].Count != 1 {
		t.Fatalf("a repeated word counted %d times", r.Questions[0].Words[0].Count)
	}
}

func TestBelowMinimumNothingIsComputed(t *testing.T) {
	r := domain.Tally(scaleQ, answers(t, scaleQ, "1", "2", "3", "4"), 5)
	if !r.Withheld || r.Reason != domain.WithheldBelowMinimum || r.Responses != 0 || r.Questions != nil {
		t.Fatalf("below the minimum: %+v, want withheld with nothing else", r)
	}
	if r := domain.Tally(scaleQ, answers(t, scaleQ, "1", "2", "3", "4", "5"), 5); r.Withheld {
		t.Fatal("at the minimum the results are withheld")
	}
}

func fields(err error) []string {
	var out []string
	if e, ok := err.(*apperr.Error); ok {
		for _, f := range e.Fields {
			out = append(out, f.Field)
		}
	}
	return out
}

func TestBadAnswersNameTheField(t *testing.T) {
	for _, tc := range []struct {
		qs  []domain.Question
		raw string
	}{
		{scaleQ, "6"}, {scaleQ, `"4"`}, {choiceQ, `"Queenstown"`}, {rankingQ, `["data","funding"]`},
		{rankingQ, `["data","data","funding"]`}, {wordsQ, `"!!!"`}, {wordsQ, `["a","b","c","d"]`},
	} {
		_, err := domain.ParseAnswer(tc.qs, json.RawMessage(tc.raw))
		if got := fields(err); !slices.Equal(got, []string{"answer"}) {
			t.Errorf("answer %s: fields %v (%v), want [answer]", tc.raw, got, err)
		}
	}
	eval := domain.EvaluationQuestions()
	_, err := domain.ParseAnswer(eval, json.RawMessage(`{"confidence":9,"takeaway":"ok","mood":1}`))
	if got, want := fields(err), []string{"answer.confidence", "answer.usefulness", "answer.mood"}; !slices.Equal(got, want) {
		t.Errorf("evaluation fields %v, want %v", got, want)
	}
}

func TestStoredAnswersReadBack(t *testing.T) {
	eval := domain.EvaluationQuestions()
	a := answers(t, eval, `{"confidence":4,"usefulness":5,"takeaway":["Rotation!","maps"]}`)[0]
	raw, _ := json.Marshal(a)
	back, err := domain.DecodeAnswer(eval, raw)
	if err != nil || !reflect.DeepEqual(a, back) {
		t.Fatalf("read back %v (%v), want %v", back, err, a)
	}
}

func newKeys(t testing.TB, secret string) *domain.Keys {
	t.Helper()
	k, err := domain.NewKeys([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBallots(t *testing.T) {
	keys, other := newKeys(t, "node-secret-0123456789"), newKeys(t, "another-node-secret-0123")
	b1, b2 := keys.IssueBallot("poll-1"), keys.IssueBallot("poll-1")
	h1, ok1 := keys.CheckBallot("poll-1", b1)
	h2, ok2 := keys.CheckBallot("poll-1", b2)
	if !ok1 || !ok2 || slices.Equal(h1, h2) {
		t.Fatal("two ballots of a poll must both check and hash apart")
	}
	if _, ok := keys.CheckBallot("poll-2", b1); ok {
		t.Error("a ballot checks for another poll")
	}
	if _, ok := other.CheckBallot("poll-1", b1); ok {
		t.Error("a ballot checks under another node's secret")
	}
	if _, ok := keys.CheckBallot("poll-1", b1[:len(b1)-2]+"AA"); ok {
		t.Error("a forged ballot checks")
	}
	if _, ok := keys.CheckBallot("poll-1", "not a ballot"); ok {
		t.Error("garbage checks")
	}
	if slices.Equal(keys.DeviceHash("poll-1", "d1"), keys.DeviceHash("poll-2", "d1")) {
		t.Error("one device hashes alike in two polls")
	}
	if slices.Equal(keys.IssueHash("poll-1", "p1"), keys.IssueHash("poll-2", "p1")) ||
		slices.Equal(keys.IssueHash("poll-1", "p1"), other.IssueHash("poll-1", "p1")) ||
		!slices.Equal(keys.IssueHash("poll-1", "p1"), keys.IssueHash("poll-1", "p1")) {
		t.Error("issuance hashes must be stable per (node, poll, person) and differ otherwise")
	}
	// Length-prefixed parts: ("ab", "c") and ("a", "bc") are different inputs.
	if slices.Equal(keys.IssueHash("ab", "c"), keys.IssueHash("a", "bc")) {
		t.Error("issuance hash parts run into each other")
	}
	if _, err := domain.NewKeys([]byte("short")); err == nil {
		t.Error("a short node secret was accepted")
	}
}

// TestSealedAnswers: a sealed answer opens only for its poll under its node's key, and
// every answer a poll accepts seals to the same size.
func TestSealedAnswers(t *testing.T) {
	keys, other := newKeys(t, "node-secret-0123456789"), newKeys(t, "another-node-secret-0123")
	short, long := []byte(`{"answer":1}`), []byte(`{"answer":["`+strings.Repeat("é", 150)+`"]}`)
	s1, s2 := keys.Seal("poll-1", short), keys.Seal("poll-1", long)
	if len(s1) != len(s2) {
		t.Errorf("sealed sizes %d and %d: the length tells the answer", len(s1), len(s2))
	}
	if bytes.Contains(s1, []byte("answer")) {
		t.Error("a sealed answer holds its plaintext")
	}
	if got, err := keys.Open("poll-1", s2); err != nil || !bytes.Equal(got, long) {
		t.Errorf("open %q, %v", got, err)
	}
	if _, err := keys.Open("poll-2", s1); err == nil {
		t.Error("a sealed answer opens for another poll")
	}
	if _, err := other.Open("poll-1", s1); err == nil {
		t.Error("a sealed answer opens under another node's key")
	}
	if _, err := keys.Open("poll-1", s1[:10]); err == nil {
		t.Error("a truncated sealed answer opens")
	}
}

// TestScaleBoundsAreCheckedWithoutOverflow: the bounds of issue 13, whose span overflowed
// int64 and was accepted, are refused naming the field; tallying a stored poll with such
// bounds costs as much as its answers, not its range.
func TestScaleBoundsAreCheckedWithoutOverflow(t *testing.T) {
	for _, s := range []domain.Scale{
		{Min: -4611686018427387904, Max: 4611686018427387904},
		{Min: math.MinInt, Max: math.MaxInt},
		{Min: 0, Max: 1001},
		{Min: 1, Max: 12},
		{Min: 5, Max: 5},
	} {
		var v apperr.Validator
		domain.ValidateQuestion(&v, domain.Question{Key: "answer", Kind: domain.KindScale, Prompt: "How?", Scale: &s})
		if f := fields(v.Err()); len(f) == 0 || !strings.HasPrefix(f[0], "scale.") {
			t.Errorf("scale %d..%d: fields %v, want a scale field", s.Min, s.Max, f)
		}
	}
	var v apperr.Validator
	domain.ValidateQuestion(&v, domain.Question{Key: "answer", Kind: domain.KindScale, Prompt: "How?", Scale: &domain.Scale{Min: -1000, Max: -990}})
	if err := v.Err(); err != nil {
		t.Errorf("a scale of 11 points at the bounds: %v", err)
	}
	huge := single(domain.Question{Kind: domain.KindScale, Prompt: "Legacy?", Scale: &domain.Scale{Min: math.MinInt, Max: math.MaxInt}})
	r := domain.Tally(huge, []domain.Answer{{"answer": math.MaxInt}, {"answer": math.MaxInt}, {"answer": 0}}, 3)
	if len(r.Questions[0].Distribution) != 2 || r.Questions[0].Mean == nil {
		t.Errorf("legacy huge scale tally %+v", r.Questions[0])
	}
}

func TestTallyStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	as := make([]domain.Answer, 5000)
	for i := range as {
		as[i] = domain.Answer{"answer": 3}
	}
	if _, err := domain.TallyContext(ctx, scaleQ, as, 5); !errors.Is(err, context.Canceled) {
		t.Errorf("tally after cancel: %v", err)
	}
}

func TestLiveCountStepsByTheMinimum(t *testing.T) {
	for _, c := range []struct{ n, k, want int }{{0, 5, 0}, {4, 5, 0}, {5, 5, 5}, {6, 5, 5}, {9, 5, 5}, {10, 5, 10}, {7, 3, 6}} {
		if got := domain.LiveCount(c.n, c.k); got != c.want {
			t.Errorf("LiveCount(%d, %d) = %d, want %d", c.n, c.k, got, c.want)
		}
	}
}

func TestStageQuiz(t *testing.T) {
	if n := len(domain.Quiz); n < 8 || n > 12 {
		t.Fatalf("%d questions, want about ten", n)
	}
	all := func(option string) map[string]string {
		m := map[string]string{}
		for _, q := range domain.Quiz {
			m[q.ID] = option
		}
		return m
	}
	for i, stage := range domain.Stages {
		a, err := domain.Assess(all(string(rune('a' + i))))
		if err != nil || a.Stage != stage || len(a.Reasons) != len(domain.Quiz) || a.Focus == "" {
			t.Errorf("all %c: %+v (%v), want %s with ten reasons and a focus", 'a'+i, a, err, stage)
		}
	}
	// Five maturing, five stewardship: the tie goes to the earlier stage.
	m := all("c")
	for _, q := range domain.Quiz[:5] {
		m[q.ID] = "d"
	}
	if a, _ := domain.Assess(m); a.Stage != "maturing" {
		t.Errorf("tie gives %s, want maturing", a.Stage)
	}
	m = all("b")
	delete(m, "q3")
	m["q4"] = "z"
	m["q99"] = "a"
	_, err := domain.Assess(m)
	if got, want := fields(err), []string{"answers.q3", "answers.q4", "answers.q99"}; !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
}
