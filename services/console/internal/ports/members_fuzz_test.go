package ports

// Fuzz targets for the members' forms: an answer to a members' poll (every kind of
// question), the ballot carried back in a refused form, and the stage quiz.

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

var five = &fbScale{Min: 1, Max: 5, Labels: map[string]string{"1": "low", "5": "high"}}

// evaluation is what a session evaluation asks (as the feedback service serves it), plus a
// choice and a ranking, so every kind is parsed from one form.
var answerQuestions = []fbQuestion{
	{Key: "confidence", Kind: "scale", Prompt: "How confident?", Scale: five},
	{Key: "takeaway", Kind: "words", Prompt: "Words?"},
	{Key: "meets_needs", Kind: "choice", Prompt: "Meets needs?", Options: []string{"yes", "partly", "no"}},
	{Key: "order", Kind: "ranking", Prompt: "Order?", Options: []string{"a", "b", "c"}},
}

func FuzzMemberAnswerForm(f *testing.F) {
	for _, body := range []string{
		"confidence=4&takeaway=rotation&takeaway=&takeaway=maps&meets_needs=partly&order.rank.0=2&order.rank.1=1&order.rank.2=3",
		"confidence=0&takeaway=a&takeaway=b&takeaway=c&takeaway=d&meets_needs=maybe&order.rank.0=1&order.rank.1=1&order.rank.2=3",
		"confidence=5&takeaway=%00&meets_needs=yes&order.rank.0=3&order.rank.1=2&order.rank.2=1",
		"confidence=9223372036854775808&takeaway=%ff", "order.rank.0=-1", "", "%zz", "ballot=abc&confidence=3",
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // the server's form parser refuses it before the console sees it
		}
		raw, err := parseAnswerForm(answerQuestions, form)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid || len(ae.Fields) == 0 {
				t.Fatalf("parseAnswerForm(%q) = %v, want invalid input naming fields", body, err)
			}
			for _, fe := range ae.Fields {
				if !slices.ContainsFunc(answerQuestions, func(q fbQuestion) bool { return q.Key == fe.Field }) {
					t.Fatalf("parseAnswerForm(%q) names %q, no question", body, fe.Field)
				}
			}
			return
		}
		// What passes is an answer the feedback service's rules accept.
		var a struct {
			Confidence int      `json:"confidence"`
			Takeaway   []string `json:"takeaway"`
			MeetsNeeds string   `json:"meets_needs"`
			Order      []string `json:"order"`
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("parseAnswerForm(%q) gave %s: %v", body, raw, err)
		}
		if a.Confidence < 1 || a.Confidence > 5 || len(a.Takeaway) < 1 || len(a.Takeaway) > 3 ||
			!slices.Contains([]string{"yes", "partly", "no"}, a.MeetsNeeds) || len(a.Order) != 3 {
			t.Fatalf("parseAnswerForm(%q) accepted %s", body, raw)
		}
		for _, w := range a.Takeaway {
			if !utf8.ValidString(w) || utf8.RuneCountInString(w) > 50 || w == "" {
				t.Fatalf("parseAnswerForm(%q) accepted the entry %q", body, w)
			}
		}
		sorted := slices.Sorted(slices.Values(a.Order))
		if !slices.Equal(sorted, []string{"a", "b", "c"}) {
			t.Fatalf("parseAnswerForm(%q) accepted the ranking %q", body, a.Order)
		}
	})
}

func FuzzBallotField(f *testing.F) {
	for _, s := range []string{"", "q1Zx-_0123456789abcdefABCDEFghijklmnopqrstuvwx", "a b", "a%00", "é", string(make([]byte, 65))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b string) {
		if checkBallot(b) != nil {
			return
		}
		if len(b) > 64 || url.PathEscape(b) != b {
			t.Fatalf("checkBallot accepted %q", b)
		}
	})
}

func FuzzQuizForm(f *testing.F) {
	qs := []quizQuestion{{ID: "q1"}, {ID: "q2"}}
	for i := range qs {
		for _, o := range []string{"a", "b", "c", "d", "e"} {
			qs[i].Options = append(qs[i].Options, struct {
				ID   string `json:"id"`
				Text string `json:"text"`
			}{ID: o, Text: o})
		}
	}
	for _, body := range []string{"q1=a&q2=e", "q1=f&q2=a", "q3=a", "q1=a&q1=b", "q1=%00", ""} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		got := quizAnswers(qs, form)
		for id, v := range got {
			if (id != "q1" && id != "q2") || len(v) != 1 || v[0] < 'a' || v[0] > 'e' {
				t.Fatalf("quizAnswers(%q) kept %s=%q", body, id, v)
			}
		}
	})
}
