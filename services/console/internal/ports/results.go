package ports

// A CoP's results, read from the feedback service with the person's own token: each closed
// poll's aggregates (or that they were withheld), the confidence trend across sessions,
// the stage assessment history, and the same as CSV. The feedback service decides who may
// read them and withholds what must be withheld; the console only shows what it answers.

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/console/internal/projection"
)

// fbScale, fbQuestion and fbPoll are the feedback service's poll as its API shows it.
type fbScale struct {
	Min    int               `json:"min"`
	Max    int               `json:"max"`
	Labels map[string]string `json:"labels"`
}

type fbQuestion struct {
	Key     string   `json:"key"`
	Kind    string   `json:"kind"`
	Prompt  string   `json:"prompt"`
	Options []string `json:"options"`
	Scale   *fbScale `json:"scale"`
}

type fbPoll struct {
	ID           string       `json:"id"`
	CoPID        string       `json:"cop_id"`
	SessionID    string       `json:"session_id"`
	Kind         string       `json:"kind"`
	Purpose      string       `json:"purpose"`
	Audience     string       `json:"audience"`
	Questions    []fbQuestion `json:"questions"`
	MinResponses int          `json:"min_responses"`
	Status       string       `json:"status"`
	OpenedAt     time.Time    `json:"opened_at"`
	ClosesAt     *time.Time   `json:"closes_at"`
	ClosedAt     *time.Time   `json:"closed_at"`
}

// fbResults is a poll's results; withheld results carry nothing else.
type fbResults struct {
	Withheld  bool   `json:"withheld"`
	Reason    string `json:"reason"`
	Responses int    `json:"responses"`
	Questions []struct {
		Key          string         `json:"key"`
		Kind         string         `json:"kind"`
		Prompt       string         `json:"prompt"`
		Distribution map[string]int `json:"distribution"`
		Mean         *float64       `json:"mean"`
		Counts       map[string]int `json:"counts"`
		Ranking      []struct {
			Option      string `json:"option"`
			Position    int    `json:"position"`
			Score       int    `json:"score"`
			FirstPlaces int    `json:"first_places"`
		} `json:"ranking"`
		Words []struct {
			Word  string `json:"word"`
			Count int    `json:"count"`
		} `json:"words"`
	} `json:"questions"`
}

// tallyRow is one line of a question's results: a scale point, an option, a ranked
// option or a word, and its count (or Borda score).
type tallyRow struct {
	Item  string
	Value int
	// Share is Value's share of the largest value, for the bar drawn beside it (0-100).
	Share int
}

// questionResult is one question's results as the page shows them.
type questionResult struct {
	Key, Kind, Prompt string
	Mean              *float64
	// Unit says what Value counts: responses, or Borda points for a ranking.
	Unit string
	Rows []tallyRow
}

// pollResult is one closed poll as the page and the CSV show it.
type pollResult struct {
	ID, Title, Purpose, Kind string
	SessionID                string
	ClosedAt                 *time.Time
	Withheld                 bool
	// Why says why results are withheld, in words.
	Why       string
	Responses int
	Questions []questionResult
}

// confidencePoint is one session's mean confidence, or why there is none.
type confidencePoint struct {
	Session string
	HeldAt  time.Time
	Mean    *float64
	Why     string
}

// assessment is one saved stage assessment.
type assessment struct {
	AssessedAt time.Time `json:"assessed_at"`
	Stage      string    `json:"stage"`
	Focus      string    `json:"focus"`
	Reasons    []string  `json:"reasons"`
}

// copResults is the results part of the CoP page.
type copResults struct {
	// Available is false when the feedback service could not be asked; the page then
	// shows the published figures the console's projection holds.
	Available   bool
	Closed      []pollResult
	Open        int
	Confidence  []confidencePoint
	Trend       []float64
	Assessments []assessment
}

// copPageData is what the CoP page shows.
type copPageData struct {
	pageData
	Results *copResults
	Home    *copHome
}

// copNotices words what the CoP page is sent back with.
var copNotices = map[string]string{
	"assessed": "The stage assessment was saved: it is the latest in the history below.",
}

var withheldWords = map[string]string{
	"below_minimum": "Withheld: fewer responses than the minimum, so no answer can be singled out",
	"until_closed":  "Withheld until the poll closes",
}

// sessionNames names a CoP's sessions "Session 3 (topic)" from the projection.
func sessionNames(d *projection.CoPDetail) map[string]string {
	out := map[string]string{}
	for _, s := range slices.Concat(d.Past, d.Upcoming) {
		name := "Session " + strconv.Itoa(s.Number)
		if s.Topic != "" {
			name += " (" + s.Topic + ")"
		}
		out[s.ID] = name
	}
	return out
}

// pollTitle says what a poll is in a few words.
func pollTitle(p fbPoll, sessions map[string]string) string {
	session := sessions[p.SessionID]
	if session == "" && p.SessionID != "" {
		session = "a session"
	}
	switch p.Purpose {
	case "evaluation":
		return "Evaluation of " + session
	case "checkin":
		return "Check-in: is this CoP still meeting your needs?"
	}
	if len(p.Questions) > 0 {
		return p.Questions[0].Prompt
	}
	return title(p.Kind)
}

// copResults reads the CoP's results from the feedback service; when it cannot be asked
// (a console running without it) the page falls back to the projection's figures.
func (w *Web) copResults(r *http.Request, c caller, d *projection.CoPDetail) *copResults {
	out := &copResults{}
	base := "/v1/cops/" + url.PathEscape(d.ID)
	var polls struct {
		Polls []fbPoll `json:"polls"`
	}
	if st, _, err := w.callAPI(r, c.token, http.MethodGet, base+"/polls", nil, &polls); err != nil || st != http.StatusOK {
		if err != nil {
			w.log.WarnContext(r.Context(), "read a CoP's polls from feedback", "error", err)
		}
		return out
	}
	sessions := sessionNames(d)
	for _, p := range polls.Polls {
		if p.Status != "closed" {
			out.Open++
			continue
		}
		var res fbResults
		if st, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/polls/"+url.PathEscape(p.ID)+"/results", nil, &res); err != nil || st != http.StatusOK {
			return out
		}
		out.Closed = append(out.Closed, describeResults(p, res, sessions))
	}
	// Latest first: the poll closed last is the one people look for.
	slices.Reverse(out.Closed)
	var conf struct {
		Sessions []struct {
			SessionID string    `json:"session_id"`
			HeldAt    time.Time `json:"held_at"`
			Withheld  bool      `json:"withheld"`
			Reason    string    `json:"reason"`
			Mean      *float64  `json:"mean"`
		} `json:"sessions"`
	}
	if st, _, err := w.callAPI(r, c.token, http.MethodGet, base+"/confidence", nil, &conf); err != nil || st != http.StatusOK {
		return out
	}
	for _, s := range conf.Sessions {
		name := sessions[s.SessionID]
		if name == "" {
			name = "Session held " + date(s.HeldAt)
		}
		p := confidencePoint{Session: name, HeldAt: s.HeldAt, Mean: s.Mean}
		if s.Withheld {
			p.Why = withheldWords[s.Reason]
		} else if s.Mean != nil {
			out.Trend = append(out.Trend, *s.Mean)
		}
		out.Confidence = append(out.Confidence, p)
	}
	var hist struct {
		Assessments []assessment `json:"assessments"`
	}
	if st, _, err := w.callAPI(r, c.token, http.MethodGet, base+"/stage-assessments", nil, &hist); err != nil || st != http.StatusOK {
		return out
	}
	out.Assessments = hist.Assessments
	slices.Reverse(out.Assessments)
	out.Available = true
	return out
}

// describeResults turns a poll's results into rows: scale points in order, options in the
// poll's order, rankings by position, words by count.
func describeResults(p fbPoll, res fbResults, sessions map[string]string) pollResult {
	pr := pollResult{ID: p.ID, Title: pollTitle(p, sessions), Purpose: p.Purpose, Kind: p.Kind, SessionID: p.SessionID,
		ClosedAt: p.ClosedAt, Withheld: res.Withheld, Why: withheldWords[res.Reason], Responses: res.Responses}
	for _, q := range res.Questions {
		qr := questionResult{Key: q.Key, Kind: q.Kind, Prompt: q.Prompt, Mean: q.Mean, Unit: "responses"}
		switch q.Kind {
		case "scale":
			points := make([]int, 0, len(q.Distribution))
			for k := range q.Distribution {
				if n, err := strconv.Atoi(k); err == nil {
					points = append(points, n)
				}
			}
			sort.Ints(points)
			for _, n := range points {
				qr.Rows = append(qr.Rows, tallyRow{Item: strconv.Itoa(n), Value: q.Distribution[strconv.Itoa(n)]})
			}
		case "choice":
			var options []string
			for _, pq := range p.Questions {
				if pq.Key == q.Key {
					options = pq.Options
				}
			}
			for _, o := range options {
				qr.Rows = append(qr.Rows, tallyRow{Item: o, Value: q.Counts[o]})
			}
		case "ranking":
			qr.Unit = "Borda points"
			for _, o := range q.Ranking {
				qr.Rows = append(qr.Rows, tallyRow{Item: fmt.Sprintf("%d. %s", o.Position, o.Option), Value: o.Score})
			}
		case "words":
			for _, wd := range q.Words {
				qr.Rows = append(qr.Rows, tallyRow{Item: wd.Word, Value: wd.Count})
			}
		}
		top := 0
		for _, row := range qr.Rows {
			top = max(top, row.Value)
		}
		for i := range qr.Rows {
			if top > 0 {
				qr.Rows[i].Share = qr.Rows[i].Value * 100 / top
			}
		}
		pr.Questions = append(pr.Questions, qr)
	}
	return pr
}

// ResultsCSVHeader is the header of a CoP's results export: one row per result line
// (scale point, option, ranked option, word), one row for a withheld poll.
func ResultsCSVHeader() []string {
	return []string{"poll_id", "poll", "purpose", "session_id", "closed_at", "withheld", "responses",
		"question_key", "question", "item", "value", "unit", "mean"}
}

// resultsCSV exports the CoP's closed polls' results: the same the page shows.
func (w *Web) resultsCSV(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.whoIs(r)
	if !ok {
		w.pageCaller(rw, r)
		return
	}
	id := r.PathValue("id")
	err := checkID("id", id)
	if err == nil {
		err = w.copAccess(r, c, id)
	}
	var d *projection.CoPDetail
	if err == nil {
		d, err = w.store.CoP(r.Context(), id)
		if errors.Is(err, projection.ErrNotFound) {
			d, err = &projection.CoPDetail{CoPHealth: projection.CoPHealth{ID: id}}, nil
		}
	}
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	res := w.copResults(r, c, d)
	if !res.Available {
		httpx.WriteProblem(rw, r, apperr.NotFound("the results of CoP %q are not kept on this node, or could not be read just now", id))
		return
	}
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="copnet-results-`+url.PathEscape(id)+`.csv"`)
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.Header().Set("Cache-Control", "no-store")
	out := csv.NewWriter(rw)
	_ = writeCSV(out, ResultsCSVHeader())
	for i := len(res.Closed) - 1; i >= 0; i-- { // oldest first, as a spreadsheet reads down
		p := res.Closed[i]
		closed := ""
		if p.ClosedAt != nil {
			closed = p.ClosedAt.UTC().Format(time.RFC3339)
		}
		head := []string{p.ID, p.Title, p.Purpose, p.SessionID, closed, strconv.FormatBool(p.Withheld)}
		if p.Withheld {
			_ = writeCSV(out, append(head, "", "", "", "", "", "", ""))
			continue
		}
		for _, q := range p.Questions {
			mean := ""
			if q.Mean != nil {
				mean = strconv.FormatFloat(*q.Mean, 'f', -1, 64)
			}
			for _, row := range q.Rows {
				_ = writeCSV(out, append(slices.Clone(head), strconv.Itoa(p.Responses), q.Key, q.Prompt, row.Item,
					strconv.Itoa(row.Value), q.Unit, mean))
			}
		}
	}
	out.Flush()
}
