package ports

// The coordinator's side of a live session: the deck builder, and the presenter screen with
// the room code, join link, QR code and live results over Server-Sent Events. Results come
// from the feedback service as anyone allowed may read them (withheld below the question's
// threshold, then moving in steps of it); the console draws them and adds nothing else.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// liveDeck is the feedback service's presenter view of a deck (GET /v1/decks/{id}, /live).
type liveDeck struct {
	Version   string             `json:"version"`
	ID        string             `json:"id"`
	Code      string             `json:"code"`
	CoPID     string             `json:"cop_id"`
	Title     string             `json:"title"`
	Status    string             `json:"status"`
	Current   int                `json:"current"`
	Questions []liveDeckQuestion `json:"questions"`
}

type liveDeckQuestion struct {
	Position     int          `json:"position"`
	PollID       string       `json:"poll_id"`
	Question     liveQuestion `json:"question"`
	MinResponses int          `json:"min_responses"`
	Status       string       `json:"status"`
	Answers      int          `json:"answers"`
	Results      struct {
		Withheld  bool `json:"withheld"`
		Responses int  `json:"responses"`
		Questions []struct {
			Distribution map[string]int `json:"distribution"`
			Mean         *float64       `json:"mean"`
			Counts       map[string]int `json:"counts"`
			Ranking      []struct {
				Option      string `json:"option"`
				Score       int    `json:"score"`
				FirstPlaces int    `json:"first_places"`
			} `json:"ranking"`
			Words []struct {
				Word  string `json:"word"`
				Count int    `json:"count"`
			} `json:"words"`
		} `json:"questions"`
	} `json:"results"`
}

// presentView is what the presenter screen shows.
type presentView struct {
	ID, Code, Title string
	Closed          bool
	JoinBase        string // where to type the code
	JoinURL         string // the code in the link (and the QR code)
	QR              template.HTML
	Number, Total   int // the current question, 1-based
	Prev, Next      int // positions, -1 when there is none
	Current         questionView
	All             []questionView
	Version         string
	Events          string
}

// questionView is one question with its results drawn.
type questionView struct {
	Number       int
	Prompt, Kind string
	Closed       bool
	Answers      int
	MinResponses int
	Withheld     bool
	Responses    int
	Bars         []barView
	Mean         string
	Ranking      []rankView
	Words        []wordView
}

type barView struct {
	Label string
	Count int
	Width int // of 100
}

type rankView struct {
	Option             string
	Score, FirstPlaces int
}

type wordView struct {
	Word  string
	Count int
	Size  int // 1 (least given) to 5 (most)
}

func newQuestionView(q liveDeckQuestion) questionView {
	v := questionView{Number: q.Position + 1, Prompt: q.Question.Prompt, Kind: q.Question.Kind, Closed: q.Status == "closed",
		Answers: q.Answers, MinResponses: q.MinResponses, Withheld: q.Results.Withheld || len(q.Results.Questions) == 0,
		Responses: q.Results.Responses}
	if v.Withheld {
		return v
	}
	r := q.Results.Questions[0]
	bars := func(labels []string, counts map[string]int, names map[string]string) {
		most := 1
		for _, l := range labels {
			most = max(most, counts[l])
		}
		for _, l := range labels {
			name := l
			if names[l] != "" {
				name = l + " · " + names[l]
			}
			v.Bars = append(v.Bars, barView{Label: name, Count: counts[l], Width: counts[l] * 100 / most})
		}
	}
	switch q.Question.Kind {
	case "scale":
		var points []string
		var names map[string]string
		if s := q.Question.Scale; s != nil && s.Max-s.Min <= 10 {
			for p := s.Min; p <= s.Max; p++ {
				points = append(points, strconv.Itoa(p))
			}
			names = s.Labels
		}
		bars(points, r.Distribution, names)
		if r.Mean != nil {
			v.Mean = strconv.FormatFloat(*r.Mean, 'f', 1, 64)
		}
	case "choice":
		bars(q.Question.Options, r.Counts, nil)
	case "ranking":
		for _, o := range r.Ranking {
			v.Ranking = append(v.Ranking, rankView{Option: o.Option, Score: o.Score, FirstPlaces: o.FirstPlaces})
		}
	case "words":
		most := 1
		for _, w := range r.Words {
			most = max(most, w.Count)
		}
		for _, w := range r.Words {
			v.Words = append(v.Words, wordView{Word: w.Word, Count: w.Count, Size: 1 + (w.Count*4)/most})
		}
		// A cloud, not a league table: alphabetical, the size tells the count.
		sort.Slice(v.Words, func(i, j int) bool { return v.Words[i].Word < v.Words[j].Word })
	}
	return v
}

func (w *Web) newPresentView(r *http.Request, d *liveDeck) *presentView {
	base := w.publicURL
	if base == "" {
		base = "http://" + r.Host
	}
	v := &presentView{ID: d.ID, Code: d.Code, Title: d.Title, Closed: d.Status == "closed", JoinBase: base + "/join",
		JoinURL: base + "/join/" + url.PathEscape(d.Code), Number: d.Current + 1, Total: len(d.Questions),
		Prev: d.Current - 1, Next: d.Current + 1, Version: d.Version,
		Events: "/present/" + url.PathEscape(d.ID) + "/events"}
	if v.Next >= v.Total {
		v.Next = -1
	}
	v.QR = qrSVG(v.JoinURL)
	for _, q := range d.Questions {
		v.All = append(v.All, newQuestionView(q))
	}
	if d.Current >= 0 && d.Current < len(v.All) {
		v.Current = v.All[d.Current]
	}
	return v
}

// fetchDeck reads a deck with the presenter's own token; the feedback service decides
// whether they may present it.
//
// The id may also be an open poll's: the feedback service shows it as a deck of one
// question (GET /v1/polls/{id}/live).
func (w *Web) fetchDeck(ctx context.Context, r *http.Request, c caller, id, after string) (*liveDeck, error) {
	path := "/v1/decks/" + url.PathEscape(id)
	client := w.client
	if after != "" {
		path += "/live?after=" + url.QueryEscape(after)
		client = liveClient
	}
	var d liveDeck
	status, detail, err := w.callAPIWith(ctx, client, r, c.token, http.MethodGet, path, nil, &d)
	if err == nil && status == http.StatusNotFound {
		d = liveDeck{}
		status, detail, err = w.callAPIWith(ctx, liveClient, r, c.token, http.MethodGet,
			"/v1/polls/"+url.PathEscape(id)+"/live?after="+url.QueryEscape(after), nil, &d)
		if status == http.StatusNotFound {
			detail = "there is no deck or poll " + id
		}
	}
	return &d, apiError(status, detail, err)
}

// apiError turns a refusal of the services' API into the error a page shows.
func apiError(status int, detail string, err error) error {
	switch {
	case err != nil:
		return err
	case status < 300:
		return nil
	case status == http.StatusNotFound:
		return apperr.NotFound("%s", detail)
	case status == http.StatusForbidden:
		return apperr.Forbidden("%s", detail)
	case status == http.StatusUnauthorized:
		return apperr.Unauthenticated(detail)
	case status == http.StatusConflict:
		return apperr.Conflict("%s", detail)
	case status == http.StatusBadRequest:
		return apperr.Invalid("request", detail)
	}
	return fmt.Errorf("feedback answered %d: %s", status, detail)
}

func (w *Web) presentPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d, err := w.fetchDeck(r.Context(), r, c, id, "")
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	w.pages.render(rw, r, http.StatusOK, "present", livePageData{pageData: pageData{Title: "Presenting " + d.Title,
		Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Error: r.URL.Query().Get("error")}, Present: w.newPresentView(r, d)})
}

// presentAction forwards a presenter's move or close with their own token and sends the
// browser back to the presenter screen.
func (w *Web) presentAction(rw http.ResponseWriter, r *http.Request, path string, body []byte) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	c, ok := w.formCaller(rw, r, "sign in to present this deck")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	var status int
	var detail string
	var err error
	if path == "/close" {
		status, detail, err = w.closeAPI(r, c.token, id, body)
	} else {
		status, detail, err = w.callAPI(r, c.token, http.MethodPost, "/v1/decks/"+url.PathEscape(id)+path, body, nil)
	}
	if err := apiError(status, detail, err); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	http.Redirect(rw, r, "/present/"+url.PathEscape(id), http.StatusSeeOther)
}

func (w *Web) movePresentation(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	pos, err := strconv.Atoi(r.PostFormValue("position"))
	if err != nil || pos < 0 || pos >= 100 {
		httpx.WriteProblem(rw, r, apperr.Invalid("position", "must be a question's position"))
		return
	}
	body, _ := json.Marshal(map[string]int{"position": pos})
	w.presentAction(rw, r, "/current", body)
}

func (w *Web) closePresentation(rw http.ResponseWriter, r *http.Request) {
	w.presentAction(rw, r, "/close", nil)
}

// closeAPI closes a deck, or the open poll shown alone under this id.
func (w *Web) closeAPI(r *http.Request, token, id string, body []byte) (int, string, error) {
	status, detail, err := w.callAPI(r, token, http.MethodPost, "/v1/decks/"+url.PathEscape(id)+"/close", body, nil)
	if err == nil && status == http.StatusNotFound {
		return w.callAPI(r, token, http.MethodPost, "/v1/polls/"+url.PathEscape(id)+"/close", nil, nil)
	}
	return status, detail, err
}

// presentEvents streams the presenter's live results: each event is the results part of
// the screen, drawn by the same template as the page.
func (w *Web) presentEvents(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.whoIs(r)
	if !ok {
		httpx.WriteProblem(rw, r, apperr.Unauthenticated("sign in to present this deck"))
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	stream(rw, r, w.rooms.stopped(), func(ctx context.Context, after string) (string, string, string, bool, error) {
		if after == "" {
			after = "none" // no version is "none": the first call answers at once
		}
		d, err := w.fetchDeck(ctx, r, c, id, after)
		if err != nil || d.Version == after {
			return "", "", "", false, err
		}
		var buf bytes.Buffer
		if err := w.pages.byName["present"].ExecuteTemplate(&buf, "live", w.newPresentView(r, d)); err != nil {
			return "", "", "", false, err
		}
		return d.Version, "live", strings.TrimSpace(buf.String()), true, nil
	})
}

// The deck builder.

// deckSummary is one deck of GET /v1/cops/{id}/decks.
type deckSummary struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	Title     string `json:"title"`
	Status    string `json:"status"`
	Questions int    `json:"questions"`
}

func (w *Web) deckPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderDeck(rw, r, c, http.StatusOK, defaultDeck(), "")
}

func (w *Web) renderDeck(rw http.ResponseWriter, r *http.Request, c caller, status int, f deckForm, problem string) {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	// The feedback service decides who may create a deck for which CoP; the page is only
	// for those who may for some CoP.
	if err := httpx.Authorize(c.claims, c.claims.IsNational() || c.claims.Holds(httpx.RoleHub) || c.claims.IsCoordinatorOf(id),
		"prepare session decks for CoP "+id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	// The CoP's decks so far, to present one again; without them the page is still the
	// builder, so a failure to list them only leaves the list out.
	var list struct {
		Decks []deckSummary `json:"decks"`
	}
	if st, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(id)+"/decks", nil, &list); err != nil || st != http.StatusOK {
		list.Decks = nil
	}
	w.pages.render(rw, r, status, "deck", livePageData{pageData: pageData{Title: "New session deck", Caller: c.claims,
		CSRF: httpx.CSRFToken(rw, r), Error: problem}, Deck: &f, CoPID: id, Decks: list.Decks})
}

func (w *Web) createDeck(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	c, ok := w.formCaller(rw, r, "sign in to prepare a session deck")
	if !ok {
		return
	}
	id := r.PathValue("id")
	f, body, err := parseDeckForm(r, id)
	if err != nil {
		w.renderDeck(rw, r, c, http.StatusBadRequest, f, problemText(err))
		return
	}
	raw, _ := json.Marshal(body)
	var d liveDeck
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/decks", raw, &d)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	if status != http.StatusCreated {
		w.renderDeck(rw, r, c, status, f, "The deck was not created: "+detail)
		return
	}
	http.Redirect(rw, r, "/present/"+url.PathEscape(d.ID), http.StatusSeeOther)
}
