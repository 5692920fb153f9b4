package ports

// Expertise and requests (issue 18): a member declares what they know (/me/expertise),
// asks the network a question (/requests/new), follows their questions and the questions
// routed to them (/requests), and reads, answers or closes one (/requests/{id}). The pages
// read and write the knowledge service with the person's own token: knowledge decides who
// may read and do what, and routes each question to the experts whose visibility reaches it.
//
// Experts appear by the card they declared with their expertise (name, organisation, a short
// description). The form fills the name and organisation in from the person's own record
// in membership, which only they (and national) may read: knowledge then shows the card to
// the people their expertise is routed to, and nobody else, with no service reading another
// person's record for them.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// requestsRoutes are the pages of expertise and requests.
func (w *Web) requestsRoutes() []Route {
	return []Route{
		{"GET", "/me/expertise", w.expertisePage},
		{"POST", "/me/expertise", w.declareExpertise},
		{"POST", "/me/expertise/{id}/withdraw", w.withdrawExpertise},
		{"GET", "/requests", w.requestsPage},
		{"GET", "/requests/new", w.askPage},
		{"POST", "/requests", w.ask},
		{"GET", "/requests/{id}", w.requestPage},
		{"POST", "/requests/{id}/answers", w.answerRequest},
		{"POST", "/requests/{id}/close", w.closeRequest},
	}
}

// What knowledge answers (schemas/openapi/knowledge.yaml).
type (
	kRequestCard struct {
		ID           string     `json:"id"`
		CoPID        string     `json:"cop_id"`
		Topics       []string   `json:"topics"`
		Question     string     `json:"question"`
		Status       string     `json:"status"`
		CreatedAt    time.Time  `json:"created_at"`
		ClosedAt     *time.Time `json:"closed_at"`
		Answers      int        `json:"answers"`
		AnsweredByMe bool       `json:"answered_by_me"`
	}
	kRequestPage struct {
		Requests   []kRequestCard `json:"requests"`
		NextCursor string         `json:"next_cursor"`
	}
	kExpertCard struct {
		PersonID     string   `json:"person_id"`
		Name         string   `json:"name"`
		Organisation string   `json:"organisation"`
		Description  string   `json:"description"`
		Proximity    string   `json:"proximity"`
		Level        string   `json:"level"`
		Topics       []string `json:"topics"`
		Withdrawn    bool     `json:"withdrawn"`
	}
	kAnswer struct {
		ID           string    `json:"id"`
		Name         string    `json:"name"`
		Organisation string    `json:"organisation"`
		Mine         bool      `json:"mine"`
		Body         string    `json:"body"`
		CreatedAt    time.Time `json:"created_at"`
	}
	kRequest struct {
		ID         string        `json:"id"`
		CoPID      string        `json:"cop_id"`
		AskedByMe  bool          `json:"asked_by_me"`
		RoutedToMe bool          `json:"routed_to_me"`
		Topics     []string      `json:"topics"`
		Question   string        `json:"question"`
		Status     string        `json:"status"`
		CreatedAt  time.Time     `json:"created_at"`
		ClosedAt   *time.Time    `json:"closed_at"`
		Experts    []kExpertCard `json:"experts"`
		Answers    []kAnswer     `json:"answers"`
		CanAnswer  bool          `json:"can_answer"`
		CanClose   bool          `json:"can_close"`
	}
	kExpertise struct {
		ID           string    `json:"id"`
		CoPID        string    `json:"cop_id"`
		Topics       []string  `json:"topics"`
		Level        string    `json:"level"`
		Visibility   string    `json:"visibility"`
		Name         string    `json:"name"`
		Organisation string    `json:"organisation"`
		Description  string    `json:"description"`
		CreatedAt    time.Time `json:"created_at"`
	}
)

// requestItem is one request in a list, in words.
type requestItem struct {
	ID, Question, CoP, Topics, Asked, Status string
	Answers                                  int
	AnsweredByMe                             bool
}

// expertiseItem is one declaration, in words.
type expertiseItem struct {
	ID, CoP, Topics, Level, Seen, Name, Organisation, Description string
}

// copOption is a CoP the caller belongs to, offered in a form.
type copOption struct{ ID, Name string }

// requestsPageData is /requests: the questions routed to the caller and their own.
type requestsPageData struct {
	pageData
	Routed, Mine         []requestItem
	RoutedNext, MineNext string
	RoutedError          string
	MineError            string
}

// requestPageData is /requests/{id}.
type requestPageData struct {
	pageData
	Request kRequest
	CoP     string
	Topics  string
	Asked   string
	Experts []expertItem
	Answers []answerItem
	// Body is an answer refused, kept to be corrected.
	Body string
}

type expertItem struct {
	Name, Organisation, Description, Near, Level, Topics string
	Withdrawn                                            bool
}

type answerItem struct {
	By, Organisation, Body, When string
	Mine                         bool
}

// askPageData is /requests/new.
type askPageData struct {
	pageData
	CoPs   []copOption
	Form   askForm
	Topics []string
}

// expertisePageData is /me/expertise.
type expertisePageData struct {
	pageData
	Mine   []expertiseItem
	CoPs   []copOption
	Form   expertiseForm
	Topics []string
}

var requestNotices = map[string]string{
	"asked":     "Your question is on its way. The experts it went to are told by e-mail; their answers appear on this page.",
	"answered":  "Thank you: your answer is with the person who asked, who is told by e-mail.",
	"closed":    "You closed the question: nobody can answer it any more. The answers stay here.",
	"declared":  "Your expertise is recorded. Questions on these topics will reach you where its visibility lets them.",
	"withdrawn": "Your expertise is withdrawn: no new question will be routed to it.",
}

// levels and visibilities, in the words the forms and lists use.
var (
	levelWords = map[string]string{"practitioner": "Practitioner", "experienced": "Experienced", "expert": "Expert"}
	seenWords  = map[string]string{
		"cop":      "Members of that CoP only",
		"region":   "Members of CoPs in that CoP's region",
		"national": "Anyone in the network",
	}
	nearWords = map[string]string{"cop": "in your CoP", "region": "in your region", "national": "elsewhere in the network"}
)

// callerCoPs lists the CoPs the caller belongs to (as member, working group or coordinator),
// named from the projection.
func (w *Web) callerCoPs(r *http.Request, c caller) []copOption {
	var ids []string
	for _, role := range []httpx.Role{httpx.RoleMember, httpx.RoleWorkingGroup, httpx.RoleCoordinator} {
		for _, id := range c.claims.Scopes(role) {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	out := make([]copOption, len(ids))
	for i, id := range ids {
		out[i] = copOption{ID: id, Name: w.copName(r, id)}
	}
	return out
}

// knownTopics lists the shared taxonomy's topics, offered as suggestions; the forms work
// without them.
func (w *Web) knownTopics(r *http.Request, c caller) []string {
	var res struct {
		Topics []struct {
			Name string `json:"name"`
		} `json:"topics"`
	}
	if status, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/topics", nil, &res); err != nil || status != http.StatusOK {
		return nil
	}
	out := make([]string, len(res.Topics))
	for i, t := range res.Topics {
		out[i] = t.Name
	}
	return out
}

// asked says when something happened in words a person reads at a glance: how long ago
// within two days, the date after that. Relative times read the same in every time zone.
func asked(now, t time.Time) string {
	if now.Sub(t) < 48*time.Hour {
		return ago(now, t)
	}
	return "on " + t.UTC().Format("Mon 2 Jan 2006")
}

func (w *Web) requestItems(r *http.Request, cards []kRequestCard) []requestItem {
	now := time.Now()
	out := make([]requestItem, len(cards))
	for i, q := range cards {
		out[i] = requestItem{ID: q.ID, Question: q.Question, CoP: w.copName(r, q.CoPID), Topics: strings.Join(q.Topics, ", "),
			Asked: asked(now, q.CreatedAt), Status: q.Status, Answers: q.Answers, AnsweredByMe: q.AnsweredByMe}
	}
	return out
}

// listRequests reads one page of the caller's requests (filter mine or routed).
func (w *Web) listRequests(r *http.Request, c caller, filter, status, cursor string, limit int) (kRequestPage, error) {
	q := url.Values{"filter": {filter}, "limit": {fmt.Sprint(limit)}}
	if status != "" {
		q.Set("status", status)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var page kRequestPage
	code, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/requests?"+q.Encode(), nil, &page)
	if err == nil && code != http.StatusOK {
		err = apperr.Invalid("cursor", detail)
		if code != http.StatusBadRequest {
			err = fmt.Errorf("knowledge answered %d: %s", code, detail)
		}
	}
	return page, err
}

// requestsPageSize is how many requests each list of /requests shows at a time.
const requestsPageSize = 20

func (w *Web) requestsPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	d := requestsPageData{pageData: pageData{Title: "Questions", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r),
		Notice: requestNotices[q.Get("notice")]}}
	next := func(param, cursor string) string {
		if cursor == "" {
			return ""
		}
		v := url.Values{}
		for k, vs := range q {
			if k != "notice" {
				v[k] = vs
			}
		}
		v.Set(param, cursor)
		return "/requests?" + v.Encode()
	}
	for _, list := range []struct {
		filter, param string
		items         *[]requestItem
		more, problem *string
	}{
		{"routed", "inbox", &d.Routed, &d.RoutedNext, &d.RoutedError},
		{"mine", "mine", &d.Mine, &d.MineNext, &d.MineError},
	} {
		page, err := w.listRequests(r, c, list.filter, "", q.Get(list.param), requestsPageSize)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) {
				w.pageError(rw, r, c, err)
				return
			}
			*list.problem = "This link's page no longer exists: showing the newest first."
			if page, err = w.listRequests(r, c, list.filter, "", "", requestsPageSize); err != nil {
				w.pageError(rw, r, c, err)
				return
			}
		}
		*list.items = w.requestItems(r, page.Requests)
		*list.more = next(list.param, page.NextCursor)
	}
	w.pages.render(rw, r, http.StatusOK, "requests", d)
}

// loadRequest reads one request as the caller may see it, in words.
func (w *Web) loadRequest(r *http.Request, c caller, id string) (requestPageData, error) {
	d := requestPageData{pageData: pageData{Caller: c.claims}}
	if err := checkID("id", id); err != nil {
		return d, err
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/requests/"+url.PathEscape(id), nil, &d.Request)
	switch {
	case err != nil:
		return d, err
	case status == http.StatusNotFound:
		return d, apperr.NotFound("there is no such question: check that you opened the whole link")
	case status == http.StatusForbidden:
		return d, apperr.Forbidden("this question is for the person who asked it and the experts it was routed to")
	case status >= 300:
		return d, fmt.Errorf("knowledge answered %d: %s", status, detail)
	}
	q := d.Request
	now := time.Now()
	d.Title = "Question"
	d.CoP = w.copName(r, q.CoPID)
	d.Topics = strings.Join(q.Topics, ", ")
	d.Asked = asked(now, q.CreatedAt)
	for _, e := range q.Experts {
		d.Experts = append(d.Experts, expertItem{Name: e.Name, Organisation: e.Organisation, Description: e.Description,
			Near: nearWords[e.Proximity], Level: levelWords[e.Level], Topics: strings.Join(e.Topics, ", "), Withdrawn: e.Withdrawn})
	}
	for _, a := range q.Answers {
		by := a.Name
		switch {
		case a.Mine:
			by = "You"
		case by == "" && q.AskedByMe:
			by = "Someone overseeing your CoP"
		case by == "":
			by = "Another expert"
		}
		d.Answers = append(d.Answers, answerItem{By: by, Organisation: a.Organisation, Body: a.Body, When: asked(now, a.CreatedAt), Mine: a.Mine})
	}
	return d, nil
}

func (w *Web) requestPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	d, err := w.loadRequest(r, c, r.PathValue("id"))
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	d.Notice = requestNotices[r.URL.Query().Get("notice")]
	w.pages.render(rw, r, http.StatusOK, "request", d)
}

// maxAnswerBody is the longest answer knowledge takes.
const maxAnswerBody = 8000

// parseAnswerBody reads an answer as posted: text (lines allowed) of at most 8000
// characters, required.
func parseAnswerBody(form url.Values) (string, error) {
	body := strings.TrimSpace(form.Get("body"))
	if err := formText("body", body, maxAnswerBody, true); err != nil {
		return body, err
	}
	if body == "" {
		return body, apperr.Invalid("body", "write your answer")
	}
	return body, nil
}

// formText checks one posted field: valid UTF-8, no control characters (line breaks and
// tabs where multiline), at most max characters.
func formText(field, v string, max int, multiline bool) error {
	switch {
	case !utf8.ValidString(v):
		return apperr.Invalid(field, "is not valid UTF-8")
	case strings.ContainsFunc(v, func(c rune) bool { return isControl(c) && !(multiline && (c == '\n' || c == '\r' || c == '\t')) }):
		return apperr.Invalid(field, "contains a control character")
	case utf8.RuneCountInString(v) > max:
		return apperr.Invalid(field, fmt.Sprintf("is longer than %d characters", max))
	}
	return nil
}

// required adds a "required" problem on field unless ok, or unless field has one already.
func required(fields []apperr.FieldError, field string, ok bool, msg string) []apperr.FieldError {
	if ok || slices.ContainsFunc(fields, func(f apperr.FieldError) bool { return f.Field == field }) {
		return fields
	}
	return append(fields, apperr.FieldError{Field: field, Message: msg})
}

// fieldMessage is an input error in words for the page: "Your answer: write your answer".
func fieldMessage(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) && len(ae.Fields) > 0 {
		var parts []string
		for _, f := range ae.Fields {
			parts = append(parts, fieldNames[f.Field]+": "+f.Message)
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

// fieldNames are the forms' fields as their labels name them.
var fieldNames = map[string]string{"body": "Your answer", "question": "The question", "topics": "Topics", "cop": "The CoP",
	"level": "Level", "visibility": "Who may see it", "description": "The description", "name": "Your name",
	"organisation": "Your organisation"}

func (w *Web) answerRequest(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to answer")
	if !ok {
		return
	}
	id := r.PathValue("id")
	d, err := w.loadRequest(r, c, id)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	body, err := parseAnswerBody(r.PostForm)
	d.Body = body
	if err != nil {
		d.Error = "Your answer was not sent: " + fieldMessage(err) + "."
		w.pages.render(rw, r, http.StatusBadRequest, "request", d)
		return
	}
	raw, _ := json.Marshal(map[string]string{"body": body})
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/requests/"+url.PathEscape(id)+"/answers", raw, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward an answer", "error", err)
		d.Error = "The knowledge service could not be reached; your answer was not sent. Send it again in a moment."
		w.pages.render(rw, r, http.StatusBadGateway, "request", d)
		return
	}
	if status >= 300 {
		d.Error = "Your answer was not sent: " + detail
		if status == http.StatusConflict {
			d.Error = "Your answer was not sent: the person who asked has closed the question."
		}
		w.pages.render(rw, r, status, "request", d)
		return
	}
	http.Redirect(rw, r, "/requests/"+url.PathEscape(id)+"?notice=answered", http.StatusSeeOther)
}

func (w *Web) closeRequest(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to close a question")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/requests/"+url.PathEscape(id)+"/close", nil, nil)
	if err == nil && status < 300 {
		http.Redirect(rw, r, "/requests/"+url.PathEscape(id)+"?notice=closed", http.StatusSeeOther)
		return
	}
	d, lerr := w.loadRequest(r, c, id)
	if lerr != nil {
		w.pageError(rw, r, c, lerr)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward a close", "error", err)
		d.Error, status = "The knowledge service could not be reached; the question is still open. Try again in a moment.", http.StatusBadGateway
	} else {
		d.Error = "The question was not closed: " + detail
	}
	w.pages.render(rw, r, status, "request", d)
}

// askForm is a question as posted from /requests/new.
type askForm struct {
	CoP, Topics, Question string
}

// maxQuestion is the longest question knowledge takes; topics are at most 20 of 100.
const (
	maxQuestion = 4000
	maxTopics   = 2100
)

// parseAskForm reads a question: text within knowledge's sizes; knowledge decides the rest
// (a CoP the person belongs to, at least one topic) and names the field.
func parseAskForm(form url.Values) (askForm, error) {
	f := askForm{CoP: strings.TrimSpace(form.Get("cop")), Topics: strings.TrimSpace(form.Get("topics")),
		Question: strings.TrimSpace(form.Get("question"))}
	var fields []apperr.FieldError
	for _, c := range []struct {
		field, v  string
		max       int
		multiline bool
	}{{"cop", f.CoP, maxID, false}, {"topics", f.Topics, maxTopics, false}, {"question", f.Question, maxQuestion, true}} {
		var ae *apperr.Error
		if errors.As(formText(c.field, c.v, c.max, c.multiline), &ae) {
			fields = append(fields, ae.Fields...)
		}
	}
	fields = required(fields, "topics", len(list(f.Topics, ",")) > 0, "name at least one, separated by commas")
	fields = required(fields, "question", f.Question != "", "write your question")
	if len(fields) > 0 {
		return f, apperr.InvalidFields(fields...)
	}
	return f, nil
}

func (w *Web) renderAsk(rw http.ResponseWriter, r *http.Request, c caller, status int, f askForm, problem string) {
	d := askPageData{pageData: pageData{Title: "Ask the network", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Error: problem},
		CoPs: w.callerCoPs(r, c), Form: f, Topics: w.knownTopics(r, c)}
	if d.Form.CoP == "" && len(d.CoPs) > 0 {
		d.Form.CoP = d.CoPs[0].ID
	}
	w.pages.render(rw, r, status, "ask", d)
}

func (w *Web) askPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderAsk(rw, r, c, http.StatusOK, askForm{}, "")
}

func (w *Web) ask(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to ask the network")
	if !ok {
		return
	}
	f, err := parseAskForm(r.PostForm)
	if err != nil {
		w.renderAsk(rw, r, c, http.StatusBadRequest, f, "Your question was not sent: "+fieldMessage(err)+".")
		return
	}
	raw, _ := json.Marshal(map[string]any{"cop_id": f.CoP, "person_id": c.claims.Subject, "topics": list(f.Topics, ","),
		"question": f.Question})
	var q struct {
		ID string `json:"id"`
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/requests", raw, &q)
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward a question", "error", err)
		w.renderAsk(rw, r, c, http.StatusBadGateway, f, "The knowledge service could not be reached; your question was not sent. Send it again in a moment.")
		return
	}
	if status >= 300 {
		w.renderAsk(rw, r, c, status, f, "Your question was not sent: "+detail)
		return
	}
	http.Redirect(rw, r, "/requests/"+url.PathEscape(q.ID)+"?notice=asked", http.StatusSeeOther)
}

// expertiseForm is a declaration as posted from /me/expertise.
type expertiseForm struct {
	CoP, Topics, Level, Visibility, Description, Name, Organisation string
}

// expertiseLimits bound each field of the expertise form.
var expertiseLimits = map[string]int{"cop": maxID, "topics": maxTopics, "level": 20, "visibility": 20, "description": 500,
	"name": 200, "organisation": 200}

// parseExpertiseForm reads a declaration: text within knowledge's sizes; knowledge decides
// the rest (levels, visibilities, a CoP the person belongs to) and names the field.
func parseExpertiseForm(form url.Values) (expertiseForm, error) {
	get := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	f := expertiseForm{CoP: get("cop"), Topics: get("topics"), Level: get("level"), Visibility: get("visibility"),
		Description: get("description"), Name: get("name"), Organisation: get("organisation")}
	values := map[string]string{"cop": f.CoP, "topics": f.Topics, "level": f.Level, "visibility": f.Visibility,
		"description": f.Description, "name": f.Name, "organisation": f.Organisation}
	var fields []apperr.FieldError
	for _, k := range []string{"cop", "topics", "level", "visibility", "description", "name", "organisation"} {
		var ae *apperr.Error
		if errors.As(formText(k, values[k], expertiseLimits[k], k == "description"), &ae) {
			fields = append(fields, ae.Fields...)
		}
	}
	fields = required(fields, "topics", len(list(f.Topics, ",")) > 0, "name at least one, separated by commas")
	if len(fields) > 0 {
		return f, apperr.InvalidFields(fields...)
	}
	return f, nil
}

func (w *Web) renderExpertise(rw http.ResponseWriter, r *http.Request, c caller, status int, f *expertiseForm, problem string) {
	d := expertisePageData{pageData: pageData{Title: "Your expertise", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Error: problem,
		Notice: requestNotices[r.URL.Query().Get("notice")]}, CoPs: w.callerCoPs(r, c), Topics: w.knownTopics(r, c)}
	mine, err := w.myExpertise(r, c)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.Mine = w.expertiseItems(r, mine)
	if f != nil {
		d.Form = *f
	} else {
		// A new declaration starts from the person's own record: the card others will see.
		d.Form = expertiseForm{Level: "experienced", Visibility: "region"}
		var me struct {
			Name         string `json:"name"`
			Organisation string `json:"organisation"`
		}
		if status, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/people/"+url.PathEscape(c.claims.Subject), nil, &me); err == nil && status == http.StatusOK {
			d.Form.Name, d.Form.Organisation = me.Name, me.Organisation
		}
		if len(d.CoPs) > 0 {
			d.Form.CoP = d.CoPs[0].ID
		}
	}
	w.pages.render(rw, r, status, "expertise", d)
}

// expertiseItems says declarations in words.
func (w *Web) expertiseItems(r *http.Request, es []kExpertise) []expertiseItem {
	out := make([]expertiseItem, len(es))
	for i, e := range es {
		cop := "No particular CoP"
		if e.CoPID != "" {
			cop = w.copName(r, e.CoPID)
		}
		out[i] = expertiseItem{ID: e.ID, CoP: cop, Topics: strings.Join(e.Topics, ", "), Level: levelWords[e.Level],
			Seen: seenWords[e.Visibility], Name: e.Name, Organisation: e.Organisation, Description: e.Description}
	}
	return out
}

// myExpertise reads the caller's declarations.
func (w *Web) myExpertise(r *http.Request, c caller) ([]kExpertise, error) {
	var res struct {
		Expertise []kExpertise `json:"expertise"`
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/expertise", nil, &res)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("knowledge answered %d: %s", status, detail)
	}
	return res.Expertise, err
}

func (w *Web) expertisePage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderExpertise(rw, r, c, http.StatusOK, nil, "")
}

func (w *Web) declareExpertise(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to declare your expertise")
	if !ok {
		return
	}
	f, err := parseExpertiseForm(r.PostForm)
	if err != nil {
		w.renderExpertise(rw, r, c, http.StatusBadRequest, &f, "Your expertise was not recorded: "+fieldMessage(err)+".")
		return
	}
	raw, _ := json.Marshal(map[string]any{"person_id": c.claims.Subject, "cop_id": f.CoP, "topics": list(f.Topics, ","),
		"level": f.Level, "visibility": f.Visibility, "description": f.Description, "name": f.Name, "organisation": f.Organisation})
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/expertise", raw, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward expertise", "error", err)
		w.renderExpertise(rw, r, c, http.StatusBadGateway, &f, "The knowledge service could not be reached; nothing was recorded. Send it again in a moment.")
		return
	}
	if status >= 300 {
		w.renderExpertise(rw, r, c, status, &f, "Your expertise was not recorded: "+detail)
		return
	}
	http.Redirect(rw, r, "/me/expertise?notice=declared", http.StatusSeeOther)
}

func (w *Web) withdrawExpertise(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to withdraw your expertise")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodDelete, "/v1/expertise/"+url.PathEscape(id), nil, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward a withdrawal", "error", err)
		w.renderExpertise(rw, r, c, http.StatusBadGateway, nil, "The knowledge service could not be reached; nothing was withdrawn. Try again in a moment.")
		return
	}
	if status >= 300 && status != http.StatusNotFound {
		w.renderExpertise(rw, r, c, status, nil, "Nothing was withdrawn: "+detail)
		return
	}
	// Withdrawn already (a second click, another tab) is what the person wanted.
	http.Redirect(rw, r, "/me/expertise?notice=withdrawn", http.StatusSeeOther)
}

// MeRequests is what the member's page (/me) shows of expertise and requests: the
// questions routed to the caller that still await their answer, and their expertise.
type MeRequests struct {
	// Awaiting are open questions routed to the caller that they have not answered, newest
	// first (at most the first 50 routed to them); each links to /requests/{ID}.
	Awaiting []requestItem
	// Expertise is what the caller declared; it is managed at /me/expertise.
	Expertise []expertiseItem
	// Error says why the knowledge service could not be read ("" when it was).
	Error string
}

// MeRequests reads, with the caller's token, what /me shows of expertise and requests.
// It never fails the page: a knowledge service out of reach is said in Error.
func (w *Web) MeRequests(r *http.Request, c caller) MeRequests {
	var out MeRequests
	page, err := w.listRequests(r, c, "routed", "open", "", 50)
	if err == nil {
		var waiting []kRequestCard
		for _, q := range page.Requests {
			if !q.AnsweredByMe {
				waiting = append(waiting, q)
			}
		}
		out.Awaiting = w.requestItems(r, waiting)
		var mine []kExpertise
		if mine, err = w.myExpertise(r, c); err == nil {
			out.Expertise = w.expertiseItems(r, mine)
		}
	}
	if err != nil {
		w.log.ErrorContext(r.Context(), "read requests and expertise for /me", "error", err)
		out.Error = "Questions routed to you and your expertise could not be read just now."
	}
	return out
}
