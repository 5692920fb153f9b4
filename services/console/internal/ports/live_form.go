package ports

// The forms of live sessions: an answer posted from a phone in the room, and the deck a
// coordinator builds. Both are checked here for shape (so that only what the forms can
// post is forwarded); what a valid question or answer is stays the feedback service's rule.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// liveQuestion is a question as the feedback service shows it.
type liveQuestion struct {
	Key     string   `json:"key"`
	Kind    string   `json:"kind"`
	Prompt  string   `json:"prompt"`
	Options []string `json:"options"`
	Scale   *struct {
		Min    int               `json:"min"`
		Max    int               `json:"max"`
		Labels map[string]string `json:"labels"`
	} `json:"scale,omitempty"`
}

// Limits of what the answer form takes: the feedback service's own limits, so that a
// refusal here and there say the same.
const (
	maxWords      = 3
	maxWordLength = 50
	maxCode       = 16
)

// checkCode validates a room code from a path or form: short letters and digits.
func checkCode(field, code string) error {
	if code == "" || len(code) > maxCode || strings.IndexFunc(code, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) >= 0 {
		return apperr.Invalid(field, "is a room code: the letters and digits shown on the screen")
	}
	return nil
}

// parseAnswer reads the answer form for q into the JSON answer the feedback service takes:
// a scale point, a chosen option, every option best first (from the rank of each, as the
// no-JavaScript selects and the tap-to-order list both post it), or one to three words.
func parseAnswer(form url.Values, q liveQuestion) (json.RawMessage, error) {
	var v any
	switch q.Kind {
	case "scale":
		n, err := strconv.Atoi(form.Get("answer"))
		if q.Scale == nil || err != nil || n < q.Scale.Min || n > q.Scale.Max {
			return nil, apperr.Invalid("answer", "choose a point of the scale")
		}
		v = n
	case "choice":
		a := form.Get("answer")
		if !contains(q.Options, a) {
			return nil, apperr.Invalid("answer", "choose one of the options")
		}
		v = a
	case "ranking":
		order := make([]string, len(q.Options))
		for i, o := range q.Options {
			rank, err := strconv.Atoi(form.Get(fmt.Sprintf("rank_%d", i)))
			if err != nil || rank < 1 || rank > len(q.Options) || order[rank-1] != "" {
				return nil, apperr.Invalid("rank", "give every option a different place, 1 to "+strconv.Itoa(len(q.Options)))
			}
			order[rank-1] = o
		}
		v = order
	case "words":
		var words []string
		for _, w := range form["word"] {
			w = strings.TrimSpace(w)
			switch {
			case w == "":
				continue
			case !utf8.ValidString(w) || strings.ContainsFunc(w, isControl):
				return nil, apperr.Invalid("word", "contains characters that are not text")
			case utf8.RuneCountInString(w) > maxWordLength:
				return nil, apperr.Invalid("word", fmt.Sprintf("is at most %d characters", maxWordLength))
			}
			words = append(words, w)
		}
		if len(words) == 0 || len(words) > maxWords {
			return nil, apperr.Invalid("word", fmt.Sprintf("write 1 to %d words", maxWords))
		}
		v = words
	default:
		return nil, apperr.Invalid("answer", "this question cannot be answered here")
	}
	return json.Marshal(v)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// deckSlots is how many questions the deck builder offers.
const deckSlots = 4

// deckSlot is one question of the deck builder's form, as posted (and shown again when
// the feedback service refuses it).
type deckSlot struct {
	Index        int
	Kind         string // "" leaves the slot out
	Prompt       string
	Options      string // one per line
	Min, Max     string
	Low, High    string // labels of the scale's ends
	MinResponses string
	Learning     bool
}

// deckForm is the deck builder's form.
type deckForm struct {
	Title string
	Slots []deckSlot
}

// defaultDeck is what the builder offers first: the four questions a co-design session
// asks (the seeds' Mentimeter decks).
func defaultDeck() deckForm {
	return deckForm{Title: "Co-design session", Slots: []deckSlot{
		{Index: 0, Kind: "scale", Prompt: "How confident do you feel about this topic?", Min: "1", Max: "5",
			Low: "Not at all", High: "Very confident", MinResponses: "5"},
		{Index: 1, Kind: "ranking", Prompt: "Rank what you most want to learn next", Options: "Funding applications\nWorking with data\nConsent and privacy",
			MinResponses: "5", Learning: true},
		{Index: 2, Kind: "words", Prompt: "One word for how you feel about this topic", MinResponses: "5"},
		{Index: 3, Kind: "choice", Prompt: "Which format suits you best?", Options: "In person\nOnline\nMixed", MinResponses: "5"},
	}}
}

// Form limits beyond which nothing a person types makes sense; the service checks the rest.
const (
	maxFormText = 2000
	maxFormInt  = 6 // characters of a small integer
)

// parseDeckForm reads the deck builder's form: the form as posted (to show again) and the
// body of POST /v1/decks for cop.
func parseDeckForm(r *http.Request, cop string) (deckForm, map[string]any, error) {
	f := deckForm{Title: strings.TrimSpace(r.PostFormValue("title"))}
	var fields []apperr.FieldError
	bad := func(field, msg string) { fields = append(fields, apperr.FieldError{Field: field, Message: msg}) }
	text := func(field, s string) string {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > maxFormText {
			bad(field, "must be text of at most 2000 bytes")
			return ""
		}
		return s
	}
	f.Title = text("title", f.Title)
	var questions []map[string]any
	for i := range deckSlots {
		name := func(s string) string { return fmt.Sprintf("q%d_%s", i, s) }
		s := deckSlot{Index: i, Kind: r.PostFormValue(name("kind")), Prompt: text(name("prompt"), strings.TrimSpace(r.PostFormValue(name("prompt")))),
			Options: text(name("options"), r.PostFormValue(name("options"))), Min: r.PostFormValue(name("min")), Max: r.PostFormValue(name("max")),
			Low: text(name("low"), strings.TrimSpace(r.PostFormValue(name("low")))), High: text(name("high"), strings.TrimSpace(r.PostFormValue(name("high")))),
			MinResponses: r.PostFormValue(name("min_responses")), Learning: r.PostFormValue(name("learning")) == "on"}
		f.Slots = append(f.Slots, s)
		if s.Kind == "" {
			continue
		}
		if !contains([]string{"scale", "choice", "ranking", "words"}, s.Kind) {
			bad(name("kind"), "must be scale, choice, ranking or words")
			continue
		}
		q := map[string]any{"kind": s.Kind, "question": s.Prompt}
		number := func(field, v string) (int, bool) {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || len(v) > maxFormInt {
				bad(field, "must be a whole number")
				return 0, false
			}
			return n, true
		}
		if n, ok := number(name("min_responses"), s.MinResponses); ok {
			q["min_responses"] = n
		}
		switch s.Kind {
		case "scale":
			lo, ok1 := number(name("min"), s.Min)
			hi, ok2 := number(name("max"), s.Max)
			if ok1 && ok2 {
				labels := map[string]string{}
				if s.Low != "" {
					labels[strconv.Itoa(lo)] = s.Low
				}
				if s.High != "" {
					labels[strconv.Itoa(hi)] = s.High
				}
				q["scale"] = map[string]any{"min": lo, "max": hi, "labels": labels}
			}
		case "choice", "ranking":
			options := []string{}
			for _, o := range strings.Split(s.Options, "\n") {
				if o = strings.TrimSpace(o); o != "" {
					options = append(options, o)
				}
			}
			q["options"] = options
			if s.Kind == "ranking" && s.Learning {
				q["purpose"] = "learning_priorities"
			}
		}
		questions = append(questions, q)
	}
	if len(questions) == 0 {
		bad("questions", "choose a kind for at least one question")
	}
	if len(fields) > 0 {
		return f, nil, apperr.InvalidFields(fields...)
	}
	return f, map[string]any{"cop_id": cop, "title": f.Title, "questions": questions}, nil
}
