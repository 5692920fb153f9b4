package domain

import (
	"fmt"
	"slices"

	"github.com/copnet/copnet/pkg/apperr"
)

// Stage is a Wenger stage of development of a community of practice.
type Stage string

// Stages in the order a CoP usually moves through them.
var Stages = []Stage{"potential", "coalescing", "maturing", "stewardship", "transformation"}

// QuizQuestion is one question of the stage quiz; each option points at one stage.
type QuizQuestion struct {
	ID      string       `json:"id"`
	Text    string       `json:"text"`
	Options []QuizOption `json:"options"`
}

// QuizOption is one possible answer. Its stage is not shown to the quiz taker.
type QuizOption struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	stage  Stage
	reason string
}

// quizRow builds a question whose options a-e point at the stages in order.
func quizRow(id, text string, options [5][2]string) QuizQuestion {
	q := QuizQuestion{ID: id, Text: text}
	for i, o := range options {
		q.Options = append(q.Options, QuizOption{ID: string(rune('a' + i)), Text: o[0], stage: Stages[i], reason: o[1]})
	}
	return q
}

// Quiz is the two-minute stage self-assessment.
var Quiz = []QuizQuestion{
	quizRow("q1", "How well do members know each other?", [5][2]string{
		{"Hardly: we are only starting to find each other", "members are still finding each other"},
		{"We are getting to know each other and what we share", "members are discovering what they share"},
		{"Well: we know who knows what", "members know who knows what"},
		{"Well, and we keep welcoming and connecting newcomers", "the community renews its membership"},
		{"Many have moved on; a core keeps in touch", "the membership is dispersing"}}),
	quizRow("q2", "Is there an agreed purpose (charter, Terms of Reference)?", [5][2]string{
		{"Not yet", "there is no agreed purpose yet"},
		{"We are drafting it together", "the purpose is being negotiated"},
		{"Yes, and we use it to decide what to work on", "the purpose guides the work"},
		{"Yes, and we review it regularly", "the purpose is reviewed and kept alive"},
		{"It no longer fits what members need", "the purpose no longer fits"}}),
	quizRow("q3", "How regularly do you meet?", [5][2]string{
		{"We have not met yet", "the community has not met"},
		{"We have met a few times", "meetings are just beginning"},
		{"On a regular rhythm most members keep", "meetings have a steady rhythm"},
		{"Regularly, with rotating facilitators", "leadership of meetings is shared"},
		{"Less and less often", "meetings are fading"}}),
	quizRow("q4", "Who shapes the agenda?", [5][2]string{
		{"Nobody yet", "no one shapes an agenda yet"},
		{"One or two founders", "a few founders carry the agenda"},
		{"A working group, from members' needs", "a working group sets the agenda from members' needs"},
		{"Members take turns and propose topics", "members own the agenda"},
		{"Mostly outside requests", "the agenda is set from outside"}}),
	quizRow("q5", "Do you produce shared resources (guides, cases, tools)?", [5][2]string{
		{"No", "there are no shared resources"},
		{"We have talked about it", "shared resources are being discussed"},
		{"Yes, several that members use", "members produce and use shared resources"},
		{"Yes, maintained and shared beyond the CoP", "resources are maintained and shared widely"},
		{"Our resources are being handed over to others", "resources are being handed over"}}),
	quizRow("q6", "Do you have a learning agenda?", [5][2]string{
		{"No", "there is no learning agenda"},
		{"We are collecting topics", "learning topics are being collected"},
		{"Yes, prioritised by members", "members prioritise a learning agenda"},
		{"Yes, and we evaluate it each cycle", "the learning agenda is evaluated and renewed"},
		{"Our topics are now covered elsewhere", "the topics are covered elsewhere"}}),
	quizRow("q7", "How is participation going?", [5][2]string{
		{"Too early to say", "participation has not started"},
		{"Growing", "participation is growing"},
		{"Steady", "participation is steady"},
		{"Steady, with new people stepping up", "participation is renewed by new people"},
		{"Declining", "participation is declining"}}),
	quizRow("q8", "Do people outside the CoP seek its knowledge?", [5][2]string{
		{"No one knows about us yet", "the CoP is not known outside"},
		{"A few have heard of us", "the CoP is becoming known"},
		{"Yes, now and then", "others consult the CoP now and then"},
		{"Yes, it is a recognised reference", "the CoP is a recognised reference"},
		{"Less than it used to", "outside interest is fading"}}),
	quizRow("q9", "Is the CoP's concern still central to members' work?", [5][2]string{
		{"It could be, if we organise", "the concern is shared but not yet organised"},
		{"Yes, that is why we are forming", "the shared concern brings people together"},
		{"Yes, very", "the concern is central to members' work"},
		{"Yes, and we keep adapting to new questions", "the CoP adapts to new questions"},
		{"Less and less", "the concern is becoming less central"}}),
	quizRow("q10", "What do you most need now?", [5][2]string{
		{"To find the others who share our concern", "the CoP needs to find its members"},
		{"Trust and a shared sense of purpose", "the CoP needs trust and a shared purpose"},
		{"Structure: roles, a program, ways to capture knowledge", "the CoP needs structure for its knowledge"},
		{"Fresh energy and renewed relevance", "the CoP needs renewal"},
		{"To decide whether to merge, change or close", "the CoP needs to decide its future"}}),
}

// Focus is what a CoP at each stage should work on next.
var Focus = map[Stage]string{
	"potential":      "Find the people who share the concern, name the domain, and hold a first meeting to test the interest.",
	"coalescing":     "Build trust and agree the purpose: draft the charter, Terms of Reference and Code of Practice, and start a regular rhythm.",
	"maturing":       "Set a learning agenda with members, define roles (rotating facilitator and note-taker), and capture what you learn as shared resources.",
	"stewardship":    "Sustain momentum: renew membership and leadership, check in on relevance, and share your knowledge beyond the CoP.",
	"transformation": "Decide the CoP's future with members: refocus, merge with a related CoP, or close well and hand over its knowledge.",
}

// Assessment is a suggested stage with why and what next.
type Assessment struct {
	Stage   Stage         `json:"stage"`
	Scores  map[Stage]int `json:"scores"`
	Reasons []string      `json:"reasons"`
	Focus   string        `json:"focus"`
}

// Assess scores quiz answers (question id → option id). Each answer is a vote for one
// stage; the stage with most votes is suggested. On a tie the earlier stage wins: claiming
// less maturity than the CoP has costs less than skipping the work of an earlier stage.
func Assess(answers map[string]string) (Assessment, error) {
	var v apperr.Validator
	scores := map[Stage]int{}
	for _, s := range Stages {
		scores[s] = 0
	}
	reasons := map[Stage][]string{}
	for _, q := range Quiz {
		field := "answers." + q.ID
		id, ok := answers[q.ID]
		if !v.Require(ok, field, "is required") {
			continue
		}
		i := slices.IndexFunc(q.Options, func(o QuizOption) bool { return o.ID == id })
		if !v.Require(i >= 0, field, fmt.Sprintf("must be one of the options of %s (a-e)", q.ID)) {
			continue
		}
		o := q.Options[i]
		scores[o.stage]++
		reasons[o.stage] = append(reasons[o.stage], o.reason)
	}
	for id := range answers {
		v.Check(slices.ContainsFunc(Quiz, func(q QuizQuestion) bool { return q.ID == id }), "answers."+id, "is not a quiz question")
	}
	if err := v.Err(); err != nil {
		return Assessment{}, err
	}
	best := Stages[0]
	for _, s := range Stages[1:] {
		if scores[s] > scores[best] {
			best = s
		}
	}
	return Assessment{Stage: best, Scores: scores, Reasons: reasons[best], Focus: Focus[best]}, nil
}
