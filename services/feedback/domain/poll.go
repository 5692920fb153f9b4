// Package domain holds the feedback service's rules: what a poll asks, which answers it
// accepts, how answers are aggregated (and withheld), how ballots stay anonymous, and the
// CoP stage quiz.
package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/copnet/copnet/pkg/apperr"
)

// Kind is what a question asks for.
type Kind string

// The kinds of question, in the style of live audience polls.
const (
	KindScale   Kind = "scale"   // a number on a labelled scale, e.g. confidence 1-5
	KindChoice  Kind = "choice"  // one of the options
	KindRanking Kind = "ranking" // every option, best first
	KindWords   Kind = "words"   // a few words for a word cloud
)

// Kinds lists the question kinds a coordinator may ask.
var Kinds = []Kind{KindScale, KindChoice, KindRanking, KindWords}

// Poll kinds beyond the question kinds: the service's own multi-question polls.
const (
	PollEvaluation = "evaluation"
	PollCheckin    = "checkin"
)

// Purposes say why a poll was opened; consumers of results_published read it.
const (
	PurposePoll               = "poll"
	PurposeEvaluation         = "evaluation"
	PurposeCheckin            = "checkin"
	PurposeLearningPriorities = "learning_priorities"
)

// Audiences: members answer with a ballot; an open poll takes anyone in the room, by code.
const (
	AudienceMembers = "members"
	AudienceOpen    = "open"
)

// DefaultMinResponses is the threshold below which results are withheld.
const DefaultMinResponses = 5

// MinMinResponses is the lowest threshold a poll may set: with two respondents each would
// know the other's answer.
const MinMinResponses = 3

// Scale limits: a scale means something to a person answering it only when its points
// are few and its numbers ordinary. Checking each bound before the span also keeps Max-Min
// from overflowing (min=-2^62, max=2^62 was accepted once, and its tally listed 2^63
// points).
const (
	MaxScaleBound = 1000 // |min| and |max|
	MaxScaleSpan  = 10   // max - min: at most 11 points
)

// Scale bounds a scale question and names its points.
type Scale struct {
	Min    int               `json:"min"`
	Max    int               `json:"max"`
	Labels map[string]string `json:"labels"`
}

// Question is one thing a poll asks.
type Question struct {
	Key     string   `json:"key"`
	Kind    Kind     `json:"kind"`
	Prompt  string   `json:"prompt"`
	Options []string `json:"options"`
	Scale   *Scale   `json:"scale,omitempty"`
}

// Poll is a poll, a session evaluation or a check-in.
type Poll struct {
	ID           string
	Code         string
	CoPID        string
	SessionID    string
	Kind         string // a question Kind, or evaluation or checkin
	Purpose      string
	Audience     string
	Questions    []Question
	MinResponses int
	OpenedAt     time.Time
	ClosesAt     *time.Time
	ClosedAt     *time.Time
}

// Closed reports whether the poll takes no more answers at now.
func (p *Poll) Closed(now time.Time) bool {
	return p.ClosedAt != nil || (p.ClosesAt != nil && !now.Before(*p.ClosesAt))
}

// ErrClosed is returned when a poll no longer takes answers or is closed twice.
var ErrClosed = fmt.Errorf("the poll is closed")

// ValidateQuestion checks one question as a coordinator wrote it, naming the create
// request's fields (kind, question, options, scale) in errors.
func ValidateQuestion(v *apperr.Validator, q Question) {
	v.Check(slices.Contains(Kinds, q.Kind), "kind", "must be scale, choice, ranking or words")
	v.Check(strings.TrimSpace(q.Prompt) != "" && len(q.Prompt) <= 500, "question", "is required (at most 500 characters)")
	switch q.Kind {
	case KindChoice, KindRanking:
		v.Check(len(q.Options) >= 2 && len(q.Options) <= 20, "options", "needs 2 to 20 options")
		seen := map[string]bool{}
		for _, o := range q.Options {
			v.Check(strings.TrimSpace(o) != "" && len(o) <= 100, "options", "must be non-empty, at most 100 characters")
			v.Check(!seen[o], "options", "must be distinct")
			seen[o] = true
		}
	default:
		v.Check(len(q.Options) == 0, "options", "are only for choice and ranking questions")
	}
	if q.Kind == KindScale {
		if !v.Require(q.Scale != nil, "scale", "is required for a scale question") {
			return
		}
		minOK := v.Require(q.Scale.Min >= -MaxScaleBound && q.Scale.Min <= MaxScaleBound, "scale.min",
			fmt.Sprintf("must be between %d and %d", -MaxScaleBound, MaxScaleBound))
		maxOK := v.Require(q.Scale.Max >= -MaxScaleBound && q.Scale.Max <= MaxScaleBound, "scale.max",
			fmt.Sprintf("must be between %d and %d", -MaxScaleBound, MaxScaleBound))
		if minOK && maxOK {
			v.Check(q.Scale.Min < q.Scale.Max && q.Scale.Max-q.Scale.Min <= MaxScaleSpan, "scale.max",
				fmt.Sprintf("must be above scale.min, by at most %d", MaxScaleSpan))
		}
		for k, label := range q.Scale.Labels {
			n, err := strconv.Atoi(k)
			v.Check(err == nil && n >= q.Scale.Min && n <= q.Scale.Max, "scale.labels", "keys must be points of the scale")
			v.Check(len(label) <= 100, "scale.labels", "are at most 100 characters")
		}
	} else {
		v.Check(q.Scale == nil, "scale", "is only for scale questions")
	}
}

// Answer is one response, normalised: question key → a scale point (int), a chosen option
// (string), a ranking ([]string, best first) or words ([]string).
type Answer map[string]any

// Words entries: at most this many per response, each at most this long once normalised.
const (
	maxWordsEntries = 3
	maxWordLength   = 50
)

// ParseAnswer checks raw against the poll's questions. A single-question poll takes the
// bare value; a poll of several takes an object keyed by question key. Every question
// must be answered: a partly filled evaluation would skew one mean but not the other.
func ParseAnswer(qs []Question, raw json.RawMessage) (Answer, error) {
	var v apperr.Validator
	values := map[string]json.RawMessage{}
	if len(qs) == 1 {
		values[qs[0].Key] = raw
	} else if err := json.Unmarshal(raw, &values); err != nil || values == nil {
		return nil, apperr.Invalid("answer", "must be an object with an answer per question")
	}
	out := Answer{}
	for _, q := range qs {
		field := "answer"
		if len(qs) > 1 {
			field += "." + q.Key
		}
		val, ok := values[q.Key]
		if !v.Require(ok && len(val) > 0 && string(val) != "null", field, "is required") {
			continue
		}
		if a, msg := parseValue(q, val); msg != "" {
			v.Check(false, field, msg)
		} else {
			out[q.Key] = a
		}
	}
	for k := range values {
		v.Check(slices.ContainsFunc(qs, func(q Question) bool { return q.Key == k }), "answer."+k, "is not a question of this poll")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseValue(q Question, raw json.RawMessage) (any, string) {
	switch q.Kind {
	case KindScale:
		var n int
		if err := json.Unmarshal(raw, &n); err != nil || n < q.Scale.Min || n > q.Scale.Max {
			return nil, fmt.Sprintf("must be a whole number from %d to %d", q.Scale.Min, q.Scale.Max)
		}
		return n, ""
	case KindChoice:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || !slices.Contains(q.Options, s) {
			return nil, "must be one of the options"
		}
		return s, ""
	case KindRanking:
		var order []string
		err := json.Unmarshal(raw, &order)
		if err != nil || len(order) != len(q.Options) || !sameSet(order, q.Options) {
			return nil, "must list every option once, best first"
		}
		return order, ""
	case KindWords:
		var entries []string
		var one string
		if json.Unmarshal(raw, &one) == nil {
			entries = []string{one}
		} else if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, "must be a string or a list of strings"
		}
		words := []string{}
		for _, e := range entries {
			w := NormaliseWords(e)
			if w != "" && !slices.Contains(words, w) {
				words = append(words, w)
			}
		}
		if len(words) == 0 || len(words) > maxWordsEntries {
			return nil, fmt.Sprintf("needs 1 to %d non-empty entries", maxWordsEntries)
		}
		for _, w := range words {
			if len([]rune(w)) > maxWordLength {
				return nil, fmt.Sprintf("entries are at most %d characters", maxWordLength)
			}
		}
		return words, ""
	}
	return nil, "is not answerable"
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// NormaliseWords makes "Confident!", " confident " and "CONFIDENT" one word in the cloud:
// lower case, punctuation trimmed from the ends, inner spaces collapsed.
func NormaliseWords(s string) string {
	s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	return strings.TrimFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// Results are a poll's aggregates. Withheld results carry nothing about the answers, not
// even how many there are (one response out of one would otherwise be exposed).
type Results struct {
	Withheld  bool             `json:"withheld"`
	Reason    string           `json:"reason,omitempty"`
	Responses int              `json:"responses,omitempty"`
	Questions []QuestionResult `json:"questions,omitempty"`
}

// Why results are withheld.
const (
	WithheldBelowMinimum = "below_minimum"
	WithheldUntilClosed  = "until_closed"
)

// QuestionResult aggregates one question; only the fields of its kind are set.
type QuestionResult struct {
	Key    string `json:"key"`
	Kind   Kind   `json:"kind"`
	Prompt string `json:"prompt"`
	// Scale: how many chose each point (every point listed) and the mean.
	Distribution map[string]int `json:"distribution,omitempty"`
	Mean         *float64       `json:"mean,omitempty"`
	// Choice: how many chose each option (every option listed).
	Counts map[string]int `json:"counts,omitempty"`
	// Ranking: the method, its tie-break, and the options in aggregate order.
	Method   string         `json:"method,omitempty"`
	TieBreak string         `json:"tie_break,omitempty"`
	Ranking  []RankedOption `json:"ranking,omitempty"`
	// Words: normalised entries by how many responses gave them.
	Words []WordCount `json:"words,omitempty"`
}

// RankedOption is one option's place in the aggregate ranking.
type RankedOption struct {
	Option      string `json:"option"`
	Position    int    `json:"position"`
	Score       int    `json:"score"`
	FirstPlaces int    `json:"first_places"`
}

// WordCount is one word of the cloud.
type WordCount struct {
	Word  string `json:"word"`
	Count int    `json:"count"`
	// Frequency is the share of responses that gave the word (0-1).
	Frequency float64 `json:"frequency"`
}

// Ranking method, stated in every ranking result.
const (
	RankingMethod   = "borda"
	RankingTieBreak = "first_places_then_poll_order"
)

// Tally aggregates answers, or withholds them: below minResponses nothing is computed.
func Tally(qs []Question, answers []Answer, minResponses int) Results {
	res, _ := TallyContext(context.Background(), qs, answers, minResponses)
	return res
}

// LiveCount is how many of n answers, in arrival order, the live results of an open poll
// with minimum k count: whole steps of k, so that results change only when k more answers
// came and reading them at k and at k+1 answers gives the same.
func LiveCount(n, k int) int {
	if k < 1 {
		k = 1
	}
	return n / k * k
}

// cancelEvery is how many answers a long loop handles between looks at its context.
const cancelEvery = 1024

// TallyContext is Tally that gives up when ctx ends (a shutdown, a client gone). Its cost
// is bounded by the number of answers and the size of the questions, never by the values
// in them: a scale's distribution lists every point only for a scale of at most
// MaxScaleSpan+1 points, which is every scale the service accepts.
func TallyContext(ctx context.Context, qs []Question, answers []Answer, minResponses int) (Results, error) {
	if len(answers) < minResponses || len(answers) == 0 {
		return Results{Withheld: true, Reason: WithheldBelowMinimum}, nil
	}
	res := Results{Responses: len(answers), Questions: make([]QuestionResult, 0, len(qs))}
	for _, q := range qs {
		var vals []any
		for i, a := range answers {
			if i%cancelEvery == 0 && ctx.Err() != nil {
				return Results{}, ctx.Err()
			}
			if v, ok := a[q.Key]; ok {
				vals = append(vals, v)
			}
		}
		if err := ctx.Err(); err != nil {
			return Results{}, err
		}
		res.Questions = append(res.Questions, tallyQuestion(q, vals))
	}
	return res, nil
}

// listsEveryPoint reports whether a scale is small enough to list each of its points,
// computed without overflow for any bounds a stored poll might hold.
func listsEveryPoint(s *Scale) bool {
	return s.Min >= -MaxScaleBound && s.Max <= MaxScaleBound && s.Min <= s.Max && s.Max-s.Min <= MaxScaleSpan
}

func tallyQuestion(q Question, vals []any) QuestionResult {
	r := QuestionResult{Key: q.Key, Kind: q.Kind, Prompt: q.Prompt}
	switch q.Kind {
	case KindScale:
		r.Distribution = map[string]int{}
		if listsEveryPoint(q.Scale) {
			for p := q.Scale.Min; p <= q.Scale.Max; p++ {
				r.Distribution[strconv.Itoa(p)] = 0
			}
		}
		// A float sum cannot overflow, and is exact for any sum of accepted points.
		sum := 0.0
		for _, v := range vals {
			n := v.(int)
			r.Distribution[strconv.Itoa(n)]++
			sum += float64(n)
		}
		if len(vals) > 0 {
			m := round(sum/float64(len(vals)), 2)
			r.Mean = &m
		}
	case KindChoice:
		r.Counts = map[string]int{}
		for _, o := range q.Options {
			r.Counts[o] = 0
		}
		for _, v := range vals {
			r.Counts[v.(string)]++
		}
	case KindRanking:
		r.Method, r.TieBreak = RankingMethod, RankingTieBreak
		r.Ranking = Borda(q.Options, toRankings(vals))
	case KindWords:
		counts := map[string]int{}
		for _, v := range vals {
			for _, w := range v.([]string) {
				counts[w]++
			}
		}
		r.Words = []WordCount{}
		for w, n := range counts {
			r.Words = append(r.Words, WordCount{Word: w, Count: n, Frequency: round(float64(n)/float64(len(vals)), 3)})
		}
		sort.Slice(r.Words, func(i, j int) bool {
			if r.Words[i].Count != r.Words[j].Count {
				return r.Words[i].Count > r.Words[j].Count
			}
			return r.Words[i].Word < r.Words[j].Word
		})
	}
	return r
}

func toRankings(vals []any) [][]string {
	out := make([][]string, len(vals))
	for i, v := range vals {
		out[i] = v.([]string)
	}
	return out
}

// Borda ranks options by Borda count: in a ranking of n options the first gets n-1
// points, the last 0, and the scores are summed over responses. Equal scores are broken by
// the number of first places, then by the order the poll listed the options in, so the
// same answers always give the same order.
func Borda(options []string, rankings [][]string) []RankedOption {
	n := len(options)
	byOption := map[string]*RankedOption{}
	out := make([]RankedOption, n)
	for i, o := range options {
		out[i] = RankedOption{Option: o}
	}
	for i := range out {
		byOption[out[i].Option] = &out[i]
	}
	for _, r := range rankings {
		for pos, o := range r {
			ro := byOption[o]
			if ro == nil {
				continue // not an option of the poll: ParseAnswer never lets one through
			}
			ro.Score += n - 1 - pos
			if pos == 0 {
				ro.FirstPlaces++
			}
		}
	}
	// A stable sort keeps the poll's order among options equal on both counts.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].FirstPlaces > out[j].FirstPlaces
	})
	for i := range out {
		out[i].Position = i + 1
	}
	return out
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// DecodeAnswer reads an answer stored as JSON back into its normalised Go types.
func DecodeAnswer(qs []Question, raw []byte) (Answer, error) {
	var values map[string]json.RawMessage
	if err := json.Unmarshal(raw, &values); err != nil {
		return nil, err
	}
	out := Answer{}
	for _, q := range qs {
		val, ok := values[q.Key]
		if !ok {
			continue
		}
		var err error
		switch q.Kind {
		case KindScale:
			var n int
			err = json.Unmarshal(val, &n)
			out[q.Key] = n
		case KindChoice:
			var s string
			err = json.Unmarshal(val, &s)
			out[q.Key] = s
		default:
			var l []string
			err = json.Unmarshal(val, &l)
			out[q.Key] = l
		}
		if err != nil {
			return nil, fmt.Errorf("stored answer to %s: %w", q.Key, err)
		}
	}
	return out, nil
}
