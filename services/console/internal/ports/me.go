package ports

// What awaits a signed-in member, and the pages that answer it. Answering keeps the
// feedback service's anonymity: the console takes the member's ballot with their token and
// casts it WITHOUT any token (the ballot names nobody), in one form post, and keeps
// nothing. Were the answer refused after the ballot was taken, the ballot goes back to the
// member's own page in a hidden field, so that correcting the answer spends the same one.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// awaitingItem is one line of "Waiting for you".
type awaitingItem struct {
	ID, Title, CoP, Detail string
	ClosesAt               string
}

// mePageData is what the member's page shows.
type mePageData struct {
	pageData
	Awaiting []awaitingItem
	// AwaitingNote says why polls could not be asked for.
	AwaitingNote string
	// CoPs are the CoPs the caller's grants name, Sessions their next sessions (in each
	// CoP's zone) and SessionsNote why some could not be read.
	CoPs         []myCoP
	Sessions     []nextSession
	SessionsNote string
	// Codes are the CoPs whose new Code of Practice the caller has yet to accept;
	// Requests the questions routed to them and their expertise.
	Codes    []CodeToAccept
	Requests MeRequests
	// Knowledge says whether the knowledge service runs here (questions and expertise).
	Knowledge bool
}

// myCoP is one of the caller's CoPs and their part in it.
type myCoP struct {
	ID, Name, Part string
}

// answerPageData is what an answer page shows.
type answerPageData struct {
	pageData
	Poll    fbPoll
	Heading string
	CoP     string
	// Ballot is a ballot taken for an answer that was refused, sent back to be spent.
	Ballot string
	// Values are the answers given so far, by form field, to keep them on a refusal.
	Values url.Values
	// Fields names the questions whose answers were refused, with why.
	Fields map[string]string
	// Done says the poll cannot be answered (any more) and why; no form is shown.
	Done string
}

var meNotices = map[string]string{
	"recorded": "Thanks — your answer is recorded. It is kept apart from your name: nobody, the coordinators included, can tell which answer is yours.",
}

// copNames names CoPs from the projection, falling back to their ids.
func (w *Web) copName(r *http.Request, id string) string {
	if d, err := w.store.CoP(r.Context(), id); err == nil && d.Name != "" {
		return d.Name
	}
	return id
}

// awaitingTitle says what a poll asks of the member: "Evaluate session 3", "Is this CoP
// still meeting your needs?", or the poll's question.
func (w *Web) awaitingTitle(r *http.Request, p fbPoll) (string, string) {
	switch p.Purpose {
	case "evaluation":
		if d, err := w.store.CoP(r.Context(), p.CoPID); err == nil {
			for _, s := range d.Past {
				if s.ID == p.SessionID {
					return "Evaluate session " + strconv.Itoa(s.Number), s.Topic
				}
			}
		}
		return "Evaluate the session held " + date(p.OpenedAt), ""
	case "checkin":
		return "Is this CoP still meeting your needs?", "A short check-in: two questions."
	}
	if len(p.Questions) > 0 {
		return p.Questions[0].Prompt, ""
	}
	return "A poll", ""
}

func (w *Web) mePage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderMe(rw, r, c, meNotices[r.URL.Query().Get("notice")])
}

// renderMe draws the member's page, with a notice and the calendar link just issued.
func (w *Web) renderMe(rw http.ResponseWriter, r *http.Request, c caller, notice string) {
	var mine struct {
		Polls []fbPoll `json:"polls"`
	}
	d := mePageData{pageData: pageData{Title: "Your page", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Notice: notice}}
	if w.served("/v1/me/polls") {
		status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/me/polls", nil, &mine)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("feedback answered %d: %s", status, detail)
		}
		if err != nil {
			w.pageError(rw, r, c, err)
			return
		}
	} else {
		d.AwaitingNote = "Polls and evaluations are kept by the feedback service, which does not run on this node."
	}
	w.loadMyCoPs(r, c, &d)
	if w.served("/v1/me/memberships") {
		d.Codes = w.CodesToAccept(r, c)
	}
	if d.Knowledge = w.served("/v1/requests"); d.Knowledge {
		d.Requests = w.MeRequests(r, c)
	}
	for _, p := range mine.Polls {
		t, detail := w.awaitingTitle(r, p)
		item := awaitingItem{ID: p.ID, Title: t, Detail: detail, CoP: w.copName(r, p.CoPID)}
		if p.ClosesAt != nil {
			item.ClosesAt = p.ClosesAt.UTC().Format("2 Jan 2006")
		}
		d.Awaiting = append(d.Awaiting, item)
	}
	w.pages.render(rw, r, http.StatusOK, "me", d)
}

// loadMyCoPs fills in the caller's CoPs, from their grants, and the next sessions of each.
func (w *Web) loadMyCoPs(r *http.Request, c caller, d *mePageData) {
	parts := map[httpx.Role]string{httpx.RoleCoordinator: "coordinator", httpx.RoleWorkingGroup: "working group", httpx.RoleMember: "member"}
	seen := map[string]int{}
	for _, role := range []httpx.Role{httpx.RoleCoordinator, httpx.RoleWorkingGroup, httpx.RoleMember} {
		for _, id := range c.claims.Scopes(role) {
			if i, ok := seen[id]; ok {
				if role != httpx.RoleMember {
					d.CoPs[i].Part += ", " + parts[role]
				}
				continue
			}
			seen[id] = len(d.CoPs)
			d.CoPs = append(d.CoPs, myCoP{ID: id, Name: w.copName(r, id), Part: parts[role]})
		}
	}
	var failed []string
	for i, cop := range d.CoPs {
		if i >= maxCoPsRead {
			break
		}
		next, _, err := w.upcoming(r, c, cop.ID, 3)
		if err != nil {
			failed = append(failed, cop.Name)
			continue
		}
		for _, s := range next {
			s.CoP = cop.Name
			d.Sessions = append(d.Sessions, s)
		}
	}
	slices.SortFunc(d.Sessions, func(a, b nextSession) int { return a.starts.Compare(b.starts) })
	if len(d.Sessions) > 5 {
		d.Sessions = d.Sessions[:5]
	}
	if len(failed) > 0 {
		d.SessionsNote = "The sessions of " + strings.Join(failed, ", ") + " could not be read just now."
	}
}

// maxCoPsRead bounds the schedules one page load asks for.
const maxCoPsRead = 10

// loadAnswerPage reads the poll and whether it still awaits the caller.
func (w *Web) loadAnswerPage(r *http.Request, c caller, id string) (answerPageData, error) {
	d := answerPageData{pageData: pageData{Caller: c.claims}, Fields: map[string]string{}, Values: url.Values{}}
	if err := checkID("id", id); err != nil {
		return d, err
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/polls/"+url.PathEscape(id), nil, &d.Poll)
	switch {
	case err != nil:
		return d, err
	case status == http.StatusNotFound:
		return d, apperr.NotFound("there is no such poll: check that you opened the whole link")
	case status == http.StatusForbidden:
		return d, apperr.Forbidden("this poll is for the members of another CoP")
	case status >= 300:
		return d, fmt.Errorf("feedback answered %d: %s", status, detail)
	}
	d.Heading, _ = w.awaitingTitle(r, d.Poll)
	d.Title = d.Heading
	d.CoP = w.copName(r, d.Poll.CoPID)
	if d.Poll.Audience != "members" {
		d.Done = "This poll is answered in the room, with the code on the screen."
		return d, nil
	}
	if d.Poll.Status != "open" {
		d.Done = "This poll has closed: it takes no more answers."
		return d, nil
	}
	var mine struct {
		Polls []fbPoll `json:"polls"`
	}
	if status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/me/polls", nil, &mine); err != nil || status != http.StatusOK {
		if err == nil {
			err = fmt.Errorf("feedback answered %d: %s", status, detail)
		}
		return d, err
	}
	if !slices.ContainsFunc(mine.Polls, func(p fbPoll) bool { return p.ID == id }) {
		// The feedback service says only that it does not await this caller: they took
		// its one ballot already, or they are not one of the CoP's members.
		d.Done = "Nothing to answer here for you: you have answered this already (you took its one ballot), or it is for the CoP's members only."
	}
	return d, nil
}

func (w *Web) answerPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	d, err := w.loadAnswerPage(r, c, r.PathValue("id"))
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	w.pages.render(rw, r, http.StatusOK, "answer", d)
}

// answer takes the member's ballot and casts their answer with it.
func (w *Web) answer(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to answer")
	if !ok {
		return
	}
	id := r.PathValue("id")
	d, err := w.loadAnswerPage(r, c, id)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	ballot := r.PostFormValue("ballot")
	if err := checkBallot(ballot); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	if d.Done != "" && ballot == "" {
		w.pages.render(rw, r, http.StatusConflict, "answer", d)
		return
	}
	d.Done, d.Values = "", r.PostForm
	refuse := func(status int, msg string) {
		d.Error = msg
		d.Ballot = ballot
		w.pages.render(rw, r, status, "answer", d)
	}
	answer, err := parseAnswerForm(d.Poll.Questions, r.PostForm)
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			for _, f := range ae.Fields {
				d.Fields[f.Field] = f.Message
			}
		}
		refuse(http.StatusBadRequest, "Some answers are missing or not valid: see the questions marked below.")
		return
	}
	if ballot == "" {
		var b struct {
			Ballot string `json:"ballot"`
		}
		status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/polls/"+url.PathEscape(id)+"/ballots", nil, &b)
		if err != nil {
			w.pageError(rw, r, c, err)
			return
		}
		if status >= 300 {
			refuse(status, "The ballot could not be taken: "+detail)
			return
		}
		ballot = b.Ballot
	}
	body, _ := json.Marshal(map[string]any{"ballot": ballot, "answer": answer})
	// No token: the answer goes with the ballot alone.
	status, detail, err := w.callAPI(r, "", http.MethodPost, "/v1/polls/"+url.PathEscape(id)+"/responses", body, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "cast a ballot", "error", err)
		refuse(http.StatusBadGateway, "Your answer could not be sent; nothing was recorded. Send it again.")
		return
	}
	if status >= 300 {
		if status == http.StatusConflict {
			ballot = "" // spent or closed: keeping it would not help
		}
		refuse(status, "Your answer was not recorded: "+detail)
		return
	}
	http.Redirect(rw, r, "/me?notice=recorded", http.StatusSeeOther)
}

// evaluateSession is the link in a session's calendar entry and mail: it leads to the
// session's evaluation on the member's answer page.
func (w *Web) evaluateSession(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	var ev struct {
		Poll fbPoll `json:"poll"`
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/sessions/"+url.PathEscape(id)+"/evaluation", nil, &ev)
	switch {
	case err != nil:
		w.pageError(rw, r, c, err)
	case status == http.StatusNotFound:
		w.pageError(rw, r, c, apperr.NotFound("this session's evaluation opens once the session is recorded as held; come back after it"))
	case status == http.StatusForbidden:
		w.pageError(rw, r, c, apperr.Forbidden("this session belongs to a CoP you are not a member of"))
	case status >= 300:
		w.pageError(rw, r, c, fmt.Errorf("feedback answered %d: %s", status, detail))
	default:
		http.Redirect(rw, r, "/me/polls/"+url.PathEscape(ev.Poll.ID), http.StatusSeeOther)
	}
}

// checkBallot accepts an empty ballot or one shaped like the feedback service's (URL-safe
// base64, at most 64 characters); the service checks its MAC.
func checkBallot(b string) error {
	if len(b) > 64 || strings.ContainsFunc(b, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return apperr.Invalid("ballot", "is not a ballot")
	}
	return nil
}

// Form fields of an answer: one per question key ("<key>"), words in up to three fields
// of that name, a ranking as "<key>.rank.<option index>" = its place (1 = first).
const maxWordsFields = 3

// parseAnswerForm reads an answer form into the JSON answer the feedback service takes
// (the bare value for a one-question poll, an object keyed by question otherwise),
// refusing anything the questions do not allow, each refusal naming its field.
func parseAnswerForm(qs []fbQuestion, form url.Values) (json.RawMessage, error) {
	var fields []apperr.FieldError
	bad := func(field, msg string) { fields = append(fields, apperr.FieldError{Field: field, Message: msg}) }
	out := map[string]any{}
	for _, q := range qs {
		v := strings.TrimSpace(form.Get(q.Key))
		switch q.Kind {
		case "scale":
			n, err := strconv.Atoi(v)
			if q.Scale == nil || err != nil || n < q.Scale.Min || n > q.Scale.Max {
				bad(q.Key, "choose a point of the scale")
				continue
			}
			out[q.Key] = n
		case "choice":
			if !slices.Contains(q.Options, v) {
				bad(q.Key, "choose one of the options")
				continue
			}
			out[q.Key] = v
		case "words":
			var words []string
			for _, w := range form[q.Key] {
				if w = strings.TrimSpace(w); w != "" {
					words = append(words, w)
				}
			}
			switch {
			case len(words) == 0:
				bad(q.Key, "write at least one word")
			case len(words) > maxWordsFields:
				bad(q.Key, "write at most three words or short phrases")
			case slices.ContainsFunc(words, func(w string) bool {
				return !utf8.ValidString(w) || utf8.RuneCountInString(w) > 50 || strings.ContainsFunc(w, isControl)
			}):
				bad(q.Key, "each entry is at most 50 characters of text")
			default:
				out[q.Key] = words
			}
		case "ranking":
			order := make([]string, len(q.Options))
			ok := true
			for i, o := range q.Options {
				n, err := strconv.Atoi(form.Get(q.Key + ".rank." + strconv.Itoa(i)))
				if err != nil || n < 1 || n > len(order) || order[n-1] != "" {
					ok = false
					break
				}
				order[n-1] = o
			}
			if !ok {
				bad(q.Key, "give every option a different place, 1 for the first")
				continue
			}
			out[q.Key] = order
		default:
			bad(q.Key, "cannot be answered here")
		}
	}
	if len(fields) > 0 {
		return nil, apperr.InvalidFields(fields...)
	}
	if len(qs) == 1 {
		return json.Marshal(out[qs[0].Key])
	}
	return json.Marshal(out)
}
