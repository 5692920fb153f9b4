package ports

// Live sessions in the room (issue 17): a phone joins by the code on the screen and
// answers the question the presenter shows, without an account and without JavaScript;
// with JavaScript it follows the presenter to the next question over Server-Sent Events.
// The console decides nothing: it reads the room's question from the feedback service and
// forwards the answer with the phone's device token, which the service keeps only as a
// keyed hash (one answer per device and question).

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// WithPublicURL sets the node's base URL, which the presenter shows as the join link.
func (w *Web) WithPublicURL(u string) *Web {
	w.publicURL = strings.TrimRight(u, "/")
	return w
}

// liveRoutes are the pages of live sessions.
func (w *Web) liveRoutes() []Route {
	return []Route{
		{"GET", "/join", w.joinPage},
		{"GET", "/join/{code}", w.roomPage},
		{"POST", "/join/{code}", w.answerRoom},
		{"GET", "/join/{code}/events", w.roomEvents},
		{"GET", "/cops/{id}/decks/new", w.deckPage},
		{"POST", "/cops/{id}/decks/new", w.createDeck},
		{"GET", "/present/{id}", w.presentPage},
		{"POST", "/present/{id}/current", w.movePresentation},
		{"POST", "/present/{id}/close", w.closePresentation},
		{"GET", "/present/{id}/events", w.presentEvents},
	}
}

// deviceCookie holds the phone's device token: a random value the phone keeps, which the
// feedback service sees only hashed with the poll. It is not tied to anyone.
const deviceCookie = "copnet_device"

// deviceToken returns the browser's device token, giving it one when it has none.
func deviceToken(rw http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(deviceCookie); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
		return ck.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(rw, &http.Cookie{Name: deviceCookie, Value: tok, Path: "/join", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: httpx.IsTLS(r)})
	return tok
}

// roomDeck is the feedback service's answer to GET /v1/decks/by-code/{code}/current.
type roomDeck struct {
	Version  string `json:"version"`
	Code     string `json:"code"`
	Title    string `json:"title"`
	Status   string `json:"status"`
	Position int    `json:"position"`
	Total    int    `json:"total"`
	Question *struct {
		PollCode string       `json:"poll_code"`
		Question liveQuestion `json:"question"`
		Status   string       `json:"status"`
	} `json:"question"`
	// single is a poll shown alone under its own code: nothing to follow.
	single bool
}

// roomPoll is the feedback service's answer to GET /v1/polls/by-code/{code}/question.
type roomPoll struct {
	Code      string         `json:"code"`
	Questions []liveQuestion `json:"questions"`
	Status    string         `json:"status"`
}

// fetchRoom reads what the room with code answers now: a deck's current question, else an
// open poll shown alone. A status other than 200 comes back with the service's words.
func (w *Web) fetchRoom(r *http.Request, code string) (*roomDeck, int, string, error) {
	var d roomDeck
	status, detail, err := w.callAPI(r, "", http.MethodGet, "/v1/decks/by-code/"+url.PathEscape(code)+"/current", nil, &d)
	if err != nil || status != http.StatusNotFound {
		return &d, status, detail, err
	}
	var p roomPoll
	status, detail, err = w.callAPI(r, "", http.MethodGet, "/v1/polls/by-code/"+url.PathEscape(code)+"/question", nil, &p)
	if err != nil || status != http.StatusOK {
		return nil, status, detail, err
	}
	if len(p.Questions) != 1 {
		return nil, http.StatusNotFound, "this code is not a room's question", nil
	}
	d = roomDeck{Code: p.Code, Status: "open", Total: 1, single: true}
	d.Question = &struct {
		PollCode string       `json:"poll_code"`
		Question liveQuestion `json:"question"`
		Status   string       `json:"status"`
	}{PollCode: p.Code, Question: p.Questions[0], Status: p.Status}
	return &d, http.StatusOK, "", nil
}

// roomView is what the room page shows.
type roomView struct {
	Code     string
	Title    string
	Closed   bool // the presenter closed the session
	Number   int  // 1-based
	Total    int
	PollCode string
	Status   string
	Question liveQuestion
	Points   []scalePoint
	Ranks    []int
	// Answered: this phone's answer to the question is recorded.
	Answered, Already bool
	// Follow is the events URL the page follows (decks only).
	Follow string
}

type scalePoint struct {
	Value int
	Label string
}

func newRoomView(d *roomDeck) *roomView {
	v := &roomView{Code: d.Code, Title: d.Title, Closed: d.Status == "closed", Number: d.Position + 1, Total: d.Total}
	if !d.single {
		// The stream starts from the version shown: it speaks only when the room changes.
		v.Follow = "/join/" + url.PathEscape(d.Code) + "/events?after=" + url.QueryEscape(d.Version)
	}
	if q := d.Question; q != nil {
		v.PollCode, v.Status, v.Question = q.PollCode, q.Status, q.Question
		if s := q.Question.Scale; s != nil && s.Max-s.Min <= 10 {
			for p := s.Min; p <= s.Max; p++ {
				v.Points = append(v.Points, scalePoint{Value: p, Label: s.Labels[strconv.Itoa(p)]})
			}
		}
		for i := range q.Question.Options {
			v.Ranks = append(v.Ranks, i+1)
		}
	}
	return v
}

// livePageData is what the live sessions' templates show.
type livePageData struct {
	pageData
	Room    *roomView
	Code    string
	Deck    *deckForm
	CoPID   string
	Decks   []deckSummary
	Present *presentView
}

func (w *Web) anonymous(r *http.Request) caller {
	c, _ := w.whoIs(r)
	return c
}

// joinPage is the code box; with ?code= it sends the phone to the room.
func (w *Web) joinPage(rw http.ResponseWriter, r *http.Request) {
	c := w.anonymous(r)
	code := strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("code")))
	d := livePageData{pageData: pageData{Title: "Join a session", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r)}, Code: code}
	if code == "" {
		w.pages.render(rw, r, http.StatusOK, "join", d)
		return
	}
	if err := checkCode("code", code); err != nil {
		d.Error = "A room code is the letters and digits shown on the screen, like K7MQ2X."
		w.pages.render(rw, r, http.StatusBadRequest, "join", d)
		return
	}
	http.Redirect(rw, r, "/join/"+url.PathEscape(code), http.StatusSeeOther)
}

// roomError shows the join page again, saying why the room could not be shown.
func (w *Web) roomError(rw http.ResponseWriter, r *http.Request, code string, status int, detail string) {
	msg := detail
	switch status {
	case http.StatusNotFound:
		msg = "No session is running with the code " + code + ". Check the code on the screen and try again."
	case http.StatusTooManyRequests:
		msg = "Too many tries from this network just now; wait a few seconds and try again."
	}
	w.pages.render(rw, r, status, "join", livePageData{pageData: pageData{Title: "Join a session", Caller: w.anonymous(r).claims,
		CSRF: httpx.CSRFToken(rw, r), Error: msg}, Code: code})
}

func (w *Web) roomPage(rw http.ResponseWriter, r *http.Request) {
	code := strings.ToUpper(r.PathValue("code"))
	if err := checkCode("code", code); err != nil {
		w.roomError(rw, r, r.PathValue("code"), http.StatusBadRequest, "A room code is the letters and digits shown on the screen.")
		return
	}
	d, status, detail, err := w.room(r, code)
	if err != nil {
		w.pageError(rw, r, w.anonymous(r), err)
		return
	}
	if status != http.StatusOK {
		w.roomError(rw, r, code, status, detail)
		return
	}
	deviceToken(rw, r)
	v := newRoomView(d)
	v.Answered = v.PollCode != "" && r.URL.Query().Get("answered") == v.PollCode
	w.renderRoom(rw, r, http.StatusOK, v, "")
}

func (w *Web) renderRoom(rw http.ResponseWriter, r *http.Request, status int, v *roomView, problem string) {
	title := "Session " + v.Code
	if v.Title != "" {
		title = v.Title
	}
	w.pages.render(rw, r, status, "room", livePageData{pageData: pageData{Title: title, Caller: w.anonymous(r).claims,
		CSRF: httpx.CSRFToken(rw, r), Error: problem}, Room: v})
}

// maxForm bounds a form post's body.
const maxForm = 64 << 10

func (w *Web) answerRoom(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	if err := httpx.CheckCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	code := strings.ToUpper(r.PathValue("code"))
	if err := checkCode("code", code); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	d, status, detail, err := w.room(r, code)
	if err != nil {
		w.pageError(rw, r, w.anonymous(r), err)
		return
	}
	if status != http.StatusOK {
		w.roomError(rw, r, code, status, detail)
		return
	}
	v := newRoomView(d)
	if v.Closed || v.PollCode != r.PostFormValue("poll") {
		// The presenter moved on (or closed) while this phone answered: show what is asked now.
		w.renderRoom(rw, r, http.StatusConflict, v, "The presenter moved on before your answer arrived, so it was not recorded. Here is the question now.")
		return
	}
	answer, err := parseAnswer(r.PostForm, v.Question)
	if err != nil {
		w.renderRoom(rw, r, http.StatusBadRequest, v, problemText(err))
		return
	}
	body, _ := json.Marshal(map[string]any{"device_token": deviceToken(rw, r), "answer": answer})
	status, detail, err = w.callAPI(r, "", http.MethodPost, "/v1/polls/by-code/"+url.PathEscape(v.PollCode)+"/responses", body, nil)
	switch {
	case err != nil:
		w.pageError(rw, r, w.anonymous(r), err)
	case status == http.StatusCreated:
		http.Redirect(rw, r, "/join/"+url.PathEscape(code)+"?answered="+url.QueryEscape(v.PollCode), http.StatusSeeOther)
	case status == http.StatusConflict && strings.Contains(detail, "already answered"):
		v.Answered, v.Already = true, true
		w.renderRoom(rw, r, http.StatusOK, v, "")
	default:
		w.renderRoom(rw, r, status, v, detail)
	}
}

// problemText words an input error for a page.
func problemText(err error) string {
	if ae, ok := err.(*apperr.Error); ok {
		parts := []string{}
		for _, f := range ae.Fields {
			parts = append(parts, f.Message)
		}
		if len(parts) > 0 {
			return strings.ToUpper(parts[0][:1]) + strings.Join(parts, "; ")[1:] + "."
		}
		return ae.Detail
	}
	return err.Error()
}

// Server-Sent Events.

// liveClient calls the feedback service's long polls: no timeout of its own, the request's
// context bounds each call.
var liveClient = &http.Client{}

// Bounds of one event stream. A stream ends after streamFor (the browser reconnects,
// showing its cookies again); each long poll gets pollFor, above the service's 20 s wait.
const (
	streamFor = 10 * time.Minute
	pollFor   = 45 * time.Second
)

// stream runs an event stream: next is called with the last version sent (the browser's
// Last-Event-ID after a reconnect, else ?after=) and returns the next event, or ok false
// when nothing changed; a non-nil error ends the stream.
func stream(rw http.ResponseWriter, r *http.Request, stop <-chan struct{}, next func(ctx context.Context, after string) (version, event, data string, ok bool, err error)) {
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = r.URL.Query().Get("after")
	}
	if len(after) > 64 {
		httpx.WriteProblem(rw, r, apperr.Invalid("after", "must be a version an event carried"))
		return
	}
	rc := http.NewResponseController(rw)
	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithTimeout(r.Context(), streamFor)
	defer cancel()
	ctx, end := withStop(ctx, stop)
	defer end()
	// The browser waits this long before reconnecting after the stream ends.
	_, _ = fmt.Fprint(rw, "retry: 2000\n\n")
	_ = rc.Flush()
	for ctx.Err() == nil {
		// The server's write timeout would cut a stream: each round extends it.
		_ = rc.SetWriteDeadline(time.Now().Add(pollFor + 15*time.Second))
		pctx, pcancel := context.WithTimeout(ctx, pollFor)
		version, event, data, ok, err := next(pctx, after)
		pcancel()
		if err != nil {
			return
		}
		if ok {
			after = version
			// Every line break (\r too, which SSE also reads as one) starts another data
			// line, so text from the questions can never start a field of its own.
			lines := strings.NewReplacer("\r\n", "\ndata: ", "\r", "\ndata: ", "\n", "\ndata: ").Replace(data)
			_, err = fmt.Fprintf(rw, "id: %s\nevent: %s\ndata: %s\n\n", version, event, lines)
		} else {
			_, err = fmt.Fprint(rw, ": waiting\n\n")
		}
		if err != nil || rc.Flush() != nil {
			return
		}
	}
}

// roomEvents tells a phone when the room's question changes; the page then loads it.
func (w *Web) roomEvents(rw http.ResponseWriter, r *http.Request) {
	code := strings.ToUpper(r.PathValue("code"))
	if err := checkCode("code", code); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	stream(rw, r, w.rooms.stopped(), func(ctx context.Context, after string) (string, string, string, bool, error) {
		w.rooms.mu.Lock()
		f := w.rooms.feeds[code]
		w.rooms.mu.Unlock()
		if f == nil {
			// No feed (yet, or any more): one read starts it, or says the room is gone.
			d, status, detail, err := w.room(r, code)
			if err != nil || status != http.StatusOK || d.single {
				if err == nil {
					err = fmt.Errorf("room %s: %d %s", code, status, detail)
				}
				return "", "", "", false, err
			}
			w.rooms.mu.Lock()
			f = w.rooms.feeds[code]
			w.rooms.mu.Unlock()
			if f == nil {
				return "", "", "", false, fmt.Errorf("room %s is not followed", code)
			}
		}
		d, ok := f.next(ctx, after)
		if !ok {
			return "", "", "", false, fmt.Errorf("room %s: its feed stopped", code)
		}
		if d.Version == after {
			return "", "", "", false, nil
		}
		poll := ""
		if d.Question != nil {
			poll = d.Question.PollCode + "/" + d.Question.Status
		}
		data, _ := json.Marshal(map[string]string{"status": d.Status, "poll": poll})
		return d.Version, "room", string(data), true, nil
	})
}
