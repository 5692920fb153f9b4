package ports

// Fuzz targets for what the live sessions' pages decode from outside: room codes, the
// answer form a phone posts, and the deck builder's form.

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

func requireInvalid(t *testing.T, what string, err error) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid || len(ae.Fields) == 0 {
		t.Fatalf("%s: %v, want invalid input naming a field", what, err)
	}
}

func FuzzCheckCode(f *testing.F) {
	for _, s := range []string{"K7MQ2X", "k7mq2x", "", "AB CD", "ÄBC", "a\x00", strings.Repeat("A", 17), "../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		if err := checkCode("code", code); err != nil {
			requireInvalid(t, code, err)
			return
		}
		if code == "" || len(code) > maxCode || strings.ContainsAny(code, "/.?#% \x00") || !utf8.ValidString(code) {
			t.Fatalf("checkCode accepted %q", code)
		}
	})
}

// The questions an answer form may be for: one of each kind.
var fuzzQuestions = func() []liveQuestion {
	var qs []liveQuestion
	for _, raw := range []string{
		`{"key":"answer","kind":"scale","prompt":"How?","options":[],"scale":{"min":1,"max":5,"labels":null}}`,
		`{"key":"answer","kind":"choice","prompt":"Which?","options":["a","b","c"]}`,
		`{"key":"answer","kind":"ranking","prompt":"Rank","options":["x","y","z"]}`,
		`{"key":"answer","kind":"words","prompt":"Word?","options":[]}`,
	} {
		var q liveQuestion
		if err := json.Unmarshal([]byte(raw), &q); err != nil {
			panic(err)
		}
		qs = append(qs, q)
	}
	return qs
}()

func FuzzAnswerForm(f *testing.F) {
	for _, seed := range []struct {
		kind uint8
		body string
	}{
		{0, "answer=3"}, {0, "answer=9"}, {0, "answer=-1"}, {0, "answer=3.5"},
		{1, "answer=b"}, {1, "answer=d"}, {1, "answer=%ff"},
		{2, "rank_0=2&rank_1=1&rank_2=3"}, {2, "rank_0=1&rank_1=1&rank_2=3"}, {2, "rank_0=1&rank_1=2"}, {2, "rank_0=4&rank_1=2&rank_2=3"},
		{3, "word=hopeful"}, {3, "word=a&word=b&word=c&word=d"}, {3, "word=+&word="}, {3, "word=%00"}, {3, "word=" + strings.Repeat("w", 51)},
	} {
		f.Add(seed.kind, seed.body)
	}
	f.Fuzz(func(t *testing.T, kind uint8, body string) {
		q := fuzzQuestions[int(kind)%len(fuzzQuestions)]
		form, err := url.ParseQuery(body)
		if err != nil {
			return // the server's form parser refuses it before this
		}
		raw, err := parseAnswer(form, q)
		if err != nil {
			requireInvalid(t, body, err)
			return
		}
		// What passes is an answer the feedback service's rules accept for the question.
		switch q.Kind {
		case "scale":
			var n int
			if json.Unmarshal(raw, &n) != nil || n < q.Scale.Min || n > q.Scale.Max {
				t.Fatalf("%s → %s", body, raw)
			}
		case "choice":
			var s string
			if json.Unmarshal(raw, &s) != nil || !slices.Contains(q.Options, s) {
				t.Fatalf("%s → %s", body, raw)
			}
		case "ranking":
			var order []string
			if json.Unmarshal(raw, &order) != nil || len(order) != len(q.Options) {
				t.Fatalf("%s → %s", body, raw)
			}
			sorted := slices.Clone(order)
			slices.Sort(sorted)
			if !slices.Equal(sorted, q.Options) {
				t.Fatalf("%s → %s is not every option once", body, raw)
			}
		case "words":
			var words []string
			if json.Unmarshal(raw, &words) != nil || len(words) < 1 || len(words) > maxWords {
				t.Fatalf("%s → %s", body, raw)
			}
			for _, w := range words {
				if w == "" || utf8.RuneCountInString(w) > maxWordLength || !utf8.ValidString(w) || strings.ContainsRune(w, 0) {
					t.Fatalf("%s → word %q", body, w)
				}
			}
		}
	})
}

func FuzzDeckForm(f *testing.F) {
	for _, body := range []string{
		"title=S&q0_kind=scale&q0_prompt=How&q0_min=1&q0_max=5&q0_min_responses=5",
		"title=S&q0_kind=ranking&q0_prompt=R&q0_options=a%0Ab%0A%0Ac&q0_min_responses=3&q0_learning=on",
		"title=S&q1_kind=words&q1_prompt=W&q1_min_responses=99999999999",
		"title=S&q0_kind=delete", "title=%00", "title=S", "q3_kind=choice&q3_options=" + strings.Repeat("x", 2001), "",
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if _, err := url.ParseQuery(body); err != nil {
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/cops/c1/decks/new", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form, deck, err := parseDeckForm(r, "c1")
		if len(form.Slots) != deckSlots {
			t.Fatalf("%q: %d slots shown again", body, len(form.Slots))
		}
		if err != nil {
			requireInvalid(t, body, err)
			return
		}
		qs, _ := deck["questions"].([]map[string]any)
		if deck["cop_id"] != "c1" || len(qs) < 1 || len(qs) > deckSlots {
			t.Fatalf("%q → %v", body, deck)
		}
		if _, err := json.Marshal(deck); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		for _, q := range qs {
			if !slices.Contains([]string{"scale", "choice", "ranking", "words"}, q["kind"].(string)) {
				t.Fatalf("%q: kind %v forwarded", body, q["kind"])
			}
		}
	})
}
