package ports

// The public two-minute stage quiz: ten questions from the feedback service, scored there
// without storing anything, the Wenger stage and what to focus on next, printable. A
// signed-in coordinator may save the result as their CoP's assessment (stage_assessed).

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

type quizQuestion struct {
	ID      string `json:"id"`
	Text    string `json:"text"`
	Options []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"options"`
}

// quizResult is the feedback service's scoring of the quiz.
type quizResult struct {
	Stage   string         `json:"stage"`
	Scores  map[string]int `json:"scores"`
	Reasons []string       `json:"reasons"`
	Focus   string         `json:"focus"`
}

// quizPageData is what the quiz page shows: the questions, or the result.
type quizPageData struct {
	pageData
	Questions []quizQuestion
	Stages    []string
	Answers   map[string]string
	Missing   map[string]bool
	Result    *quizResult
	// StageWords say what each stage means.
	StageWords map[string]string
	// CoPs are the CoPs the caller coordinates: where the result may be saved.
	CoPs []copChoice
}

type copChoice struct{ ID, Name string }

// stageWords say what each stage means, beside the result.
var stageWords = map[string]string{
	"potential":      "People facing a similar situation are finding each other and discovering what they share.",
	"coalescing":     "Members come together, build trust and agree what the community is for.",
	"maturing":       "The community sets its agenda, takes charge of its practice and builds shared knowledge.",
	"stewardship":    "The community keeps its practice relevant, renews its members and is sought out by others.",
	"transformation": "The community is changing: refocusing, merging, or closing and handing its knowledge over.",
}

func (w *Web) quiz(r *http.Request) ([]quizQuestion, []string, error) {
	var q struct {
		Stages    []string       `json:"stages"`
		Questions []quizQuestion `json:"questions"`
	}
	status, detail, err := w.callAPI(r, "", http.MethodGet, "/v1/stage-quiz", nil, &q)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("feedback answered %d: %s", status, detail)
	}
	return q.Questions, q.Stages, err
}

// quizData starts a quiz page for whoever is asking, signed in or not.
func (w *Web) quizData(rw http.ResponseWriter, r *http.Request) (quizPageData, caller, error) {
	c, _ := w.whoIs(r)
	d := quizPageData{pageData: pageData{Title: "Which stage is your community in?", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r)},
		Answers: map[string]string{}, Missing: map[string]bool{}, StageWords: stageWords}
	var err error
	d.Questions, d.Stages, err = w.quiz(r)
	for _, id := range c.claims.Scopes(httpx.RoleCoordinator) {
		d.CoPs = append(d.CoPs, copChoice{ID: id, Name: w.copName(r, id)})
	}
	return d, c, err
}

func (w *Web) quizPage(rw http.ResponseWriter, r *http.Request) {
	d, c, err := w.quizData(rw, r)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	w.pages.render(rw, r, http.StatusOK, "quiz", d)
}

// quizAnswers reads the quiz form: one option id per question, nothing else kept.
func quizAnswers(qs []quizQuestion, form url.Values) map[string]string {
	out := map[string]string{}
	for _, q := range qs {
		if v := form.Get(q.ID); v != "" && slices.ContainsFunc(q.Options, func(o struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		}) bool {
			return o.ID == v
		}) {
			out[q.ID] = v
		}
	}
	return out
}

// scoreQuiz shows the stage the answers suggest; unanswered questions are marked.
func (w *Web) scoreQuiz(rw http.ResponseWriter, r *http.Request) {
	if err := httpx.CheckCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	d, c, err := w.quizData(rw, r)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.Answers = quizAnswers(d.Questions, r.PostForm)
	for _, q := range d.Questions {
		if d.Answers[q.ID] == "" {
			d.Missing[q.ID] = true
		}
	}
	if len(d.Missing) > 0 {
		d.Error = fmt.Sprintf("Answer every question to see your stage: %d of %d still need an answer (marked below).", len(d.Missing), len(d.Questions))
		w.pages.render(rw, r, http.StatusBadRequest, "quiz", d)
		return
	}
	body, _ := json.Marshal(map[string]any{"answers": d.Answers})
	var res quizResult
	status, detail, err := w.callAPI(r, "", http.MethodPost, "/v1/stage-quiz/score", body, &res)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("feedback answered %d: %s", status, detail)
	}
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.Result = &res
	d.Title = "Your stage: " + title(res.Stage)
	w.pages.render(rw, r, http.StatusOK, "quiz", d)
}

// saveQuiz saves the answers as the assessment of a CoP the caller coordinates; the
// feedback service decides whether they may.
func (w *Web) saveQuiz(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in as the CoP's coordinator to save the result")
	if !ok {
		return
	}
	cop := r.PostFormValue("cop")
	if err := checkID("cop", cop); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	qs, _, err := w.quiz(r)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	answers := quizAnswers(qs, r.PostForm)
	if len(answers) != len(qs) {
		httpx.WriteProblem(rw, r, apperr.Invalid("answers", "every question of the quiz needs an answer"))
		return
	}
	body, _ := json.Marshal(map[string]any{"answers": answers})
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/cops/"+url.PathEscape(cop)+"/stage-assessments", body, nil)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	if status >= 300 {
		kind, known := map[int]apperr.Kind{http.StatusForbidden: apperr.KindForbidden, http.StatusNotFound: apperr.KindNotFound,
			http.StatusBadRequest: apperr.KindInvalid}[status]
		if !known {
			w.pageError(rw, r, c, errors.New("feedback refused the assessment: "+detail))
			return
		}
		w.pageError(rw, r, c, &apperr.Error{Kind: kind, Detail: detail})
		return
	}
	http.Redirect(rw, r, "/cops/"+url.PathEscape(cop)+"?notice=assessed#stage-h", http.StatusSeeOther)
}
