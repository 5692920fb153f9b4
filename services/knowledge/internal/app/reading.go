package app

// Reading requests and one's own expertise (issue 18): the asker follows their requests and
// reads the answers, an expert finds what was routed to them, and each person sees and
// withdraws what they declared.

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// RequestCard is one request in a listing.
type RequestCard struct {
	ID        string     `json:"id"`
	CoPID     string     `json:"cop_id"`
	Region    string     `json:"region"`
	Topics    []string   `json:"topics"`
	Question  string     `json:"question"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	// Answers counts the answers so far; AnsweredByMe says whether the caller gave one.
	Answers      int  `json:"answers"`
	AnsweredByMe bool `json:"answered_by_me"`
}

// RequestFilter selects a page of requests: those person asked (Mine) or those routed to
// person, newest first, after the cursor position.
type RequestFilter struct {
	Person string
	Mine   bool
	Status string
	Limit  int
	After  *RequestCursor
}

// RequestCursor is where a page of requests starts: after the request created at At with
// id ID (the order is created_at, then id, both descending).
type RequestCursor struct {
	At time.Time
	ID string
}

// Encode is the cursor as the opaque next_cursor a client sends back.
func (c RequestCursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.At.UTC().Format(time.RFC3339Nano) + "|" + c.ID))
}

// DecodeRequestCursor reads a next_cursor of the requests listing; anything else is a 400
// on cursor.
func DecodeRequestCursor(s string) (*RequestCursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := apperr.Invalid("cursor", "must be the next_cursor of a previous page")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	at, id, ok := strings.Cut(string(raw), "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || !plausibleID(id) {
		return nil, bad
	}
	return &RequestCursor{At: t, ID: id}, nil
}

// ProjectCursor is where a page of projects starts: after the project whose window starts
// on StartsOn with id ID (the order is starts_on, then id, both descending).
type ProjectCursor struct {
	StartsOn time.Time
	ID       string
}

// Encode is the cursor as the opaque next_cursor a client sends back.
func (c ProjectCursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.StartsOn.Format(time.DateOnly) + "|" + c.ID))
}

// DecodeProjectCursor reads a next_cursor of the projects listing; anything else is a 400
// on cursor.
func DecodeProjectCursor(s string) (*ProjectCursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := apperr.Invalid("cursor", "must be the next_cursor of a previous page")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	day, id, ok := strings.Cut(string(raw), "|")
	t, err := time.Parse(time.DateOnly, day)
	if !ok || err != nil || !plausibleID(id) {
		return nil, bad
	}
	return &ProjectCursor{StartsOn: t, ID: id}, nil
}

// plausibleID reports whether id could be one of ours (printable ASCII, at most 64
// bytes): anything else names nothing, and must not reach PostgreSQL (a NUL is a 500 there).
func plausibleID(id string) bool {
	return id != "" && len(id) <= 64 && !strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e })
}

// RequestQuery is the input of Requests.
type RequestQuery struct {
	// Filter is "mine" (requests the caller raised) or "routed" (requests routed to the
	// caller as an expert).
	Filter string
	// Status, optional, is "open" or "closed".
	Status string
	Page   httpx.Page
}

// RequestPage is a page of requests and the cursor of the next one ("" after the last).
type RequestPage struct {
	Requests   []RequestCard `json:"requests"`
	NextCursor string        `json:"next_cursor"`
}

// Requests lists the caller's own requests or those routed to them, a page at a time.
// Nobody lists anyone else's: what a coordinator, hub or national oversees they read one
// by one (Request).
func (a *Application) Requests(ctx context.Context, c httpx.Claims, q RequestQuery) (RequestPage, error) {
	if err := httpx.Authorize(c, c.Signed(), "list requests"); err != nil {
		return RequestPage{}, err
	}
	var v apperr.Validator
	v.Check(q.Filter == "mine" || q.Filter == "routed", "filter", "must be mine or routed")
	v.Check(q.Status == "" || q.Status == "open" || q.Status == "closed", "status", "must be open or closed")
	after, err := DecodeRequestCursor(q.Page.Cursor)
	if err != nil {
		return RequestPage{}, err
	}
	if err := v.Err(); err != nil {
		return RequestPage{}, err
	}
	// One more than the page tells whether there is a next page.
	cards, err := a.repo.Requests(ctx, RequestFilter{Person: c.Subject, Mine: q.Filter == "mine", Status: q.Status,
		Limit: q.Page.Limit + 1, After: after})
	if err != nil {
		return RequestPage{}, err
	}
	page := RequestPage{Requests: cards}
	if len(cards) > q.Page.Limit {
		page.Requests = cards[:q.Page.Limit]
		last := page.Requests[len(page.Requests)-1]
		page.NextCursor = RequestCursor{At: last.CreatedAt, ID: last.ID}.Encode()
	}
	if page.Requests == nil {
		page.Requests = []RequestCard{}
	}
	return page, nil
}

// ExpertCard is an expert a request was routed to, as those allowed to see them see them.
type ExpertCard struct {
	PersonID     string   `json:"person_id"`
	Name         string   `json:"name"`
	Organisation string   `json:"organisation"`
	Description  string   `json:"description"`
	Proximity    string   `json:"proximity"`
	Level        string   `json:"level"`
	Topics       []string `json:"topics"`
	// Withdrawn: the expert has withdrawn that expertise since (no card to show).
	Withdrawn bool `json:"withdrawn"`
}

// AnswerView is an answer as the reader may see it: by whom only to those who may see the
// answering expert.
type AnswerView struct {
	ID           string    `json:"id"`
	PersonID     string    `json:"person_id,omitempty"`
	Name         string    `json:"name,omitempty"`
	Organisation string    `json:"organisation,omitempty"`
	Mine         bool      `json:"mine"`
	Body         string    `json:"body"`
	CreatedAt    time.Time `json:"created_at"`
}

// RequestDetail is one request with its experts and answers.
type RequestDetail struct {
	ID         string     `json:"id"`
	CoPID      string     `json:"cop_id"`
	Region     string     `json:"region"`
	AskerID    string     `json:"asker_id,omitempty"`
	AskedByMe  bool       `json:"asked_by_me"`
	RoutedToMe bool       `json:"routed_to_me"`
	Topics     []string   `json:"topics"`
	Question   string     `json:"question"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	// Experts are the experts it was routed to, nearest first: all of them for the asker
	// and those overseeing the request, only themselves for a routed expert.
	Experts []ExpertCard `json:"experts"`
	Answers []AnswerView `json:"answers"`
	// CanAnswer and CanClose say what the caller may do with it now.
	CanAnswer bool `json:"can_answer"`
	CanClose  bool `json:"can_close"`
}

// StoredRequest is a request as the repository loads it for reading: everything, before
// what the reader may see is chosen.
type StoredRequest struct {
	Request
	Experts []ExpertCard
	Answers []AnswerView
	// MatchedNow: the reader is a routed expert still entitled to answer (see
	// RequestAccess.Matched).
	MatchedNow bool
}

// Request shows one request to the people it concerns: the asker, the experts it was routed
// to, its CoP's coordinator, its region's hub and national. Anyone else gets a 403 (a 404
// when there is no such request).
func (a *Application) Request(ctx context.Context, c httpx.Claims, id string) (*RequestDetail, error) {
	if err := httpx.Authorize(c, c.Signed(), "read requests"); err != nil {
		return nil, err
	}
	if !plausibleID(id) {
		return nil, apperr.NotFound("request %q does not exist", id)
	}
	q, err := a.repo.ReadRequest(ctx, id, c.Subject)
	if err != nil {
		return nil, err
	}
	asker := q.PersonID != "" && c.IsPerson(q.PersonID)
	routed := false
	for _, e := range q.Experts {
		routed = routed || c.IsPerson(e.PersonID)
	}
	overseer := c.IsNational() || c.IsHubOf(q.Region) || c.IsCoordinatorOf(q.CoPID)
	if err := httpx.Authorize(c, asker || routed || overseer,
		"read this request: only its asker, the experts it was routed to, its CoP's coordinator, its region's hub and national may"); err != nil {
		return nil, err
	}
	d := &RequestDetail{ID: q.ID, CoPID: q.CoPID, Region: q.Region, AskedByMe: asker, RoutedToMe: routed, Topics: q.Topics,
		Question: q.Question, Status: q.Status, CreatedAt: q.CreatedAt, ClosedAt: q.ClosedAt,
		Experts: []ExpertCard{}, Answers: []AnswerView{}}
	seesAll := asker || overseer
	if seesAll {
		d.AskerID = q.PersonID
	}
	for _, e := range q.Experts {
		if seesAll || c.IsPerson(e.PersonID) {
			d.Experts = append(d.Experts, e)
		}
	}
	for _, ans := range q.Answers {
		ans.Mine = ans.PersonID != "" && c.IsPerson(ans.PersonID)
		// An expert sees the other experts' words, not who they are: their visibility was
		// chosen for the askers their requests reach, not for the other experts.
		if !seesAll && !ans.Mine {
			ans.PersonID, ans.Name, ans.Organisation = "", "", ""
		}
		d.Answers = append(d.Answers, ans)
	}
	open := q.Status == "open"
	d.CanAnswer = open && (q.MatchedNow || overseer)
	d.CanClose = open && (asker || overseer)
	return d, nil
}

// MyExpertise lists what the caller declared.
func (a *Application) MyExpertise(ctx context.Context, c httpx.Claims) ([]Expertise, error) {
	if err := httpx.Authorize(c, c.Signed(), "see your expertise"); err != nil {
		return nil, err
	}
	es, err := a.repo.ExpertiseOf(ctx, c.Subject)
	if es == nil {
		es = []Expertise{}
	}
	return es, err
}

// WithdrawExpertise removes a declaration (the person who declared it, or national): no new
// request is routed to it, and the supply it gave goes, which may open gaps again.
// Requests routed to it before stay readable by the expert.
func (a *Application) WithdrawExpertise(ctx context.Context, c httpx.Claims, id string) error {
	const what = "withdraw this expertise"
	if err := httpx.Authorize(c, c.Signed(), what); err != nil {
		return err
	}
	if !plausibleID(id) {
		return apperr.NotFound("expertise %q does not exist", id)
	}
	return a.repo.InTx(ctx, func(ctx context.Context) error {
		e, err := a.repo.WithdrawExpertise(ctx, id, func(e Expertise) error {
			return httpx.Authorize(c, c.IsPerson(e.PersonID) || c.IsNational(), what+": only the person who declared it and national may")
		})
		if err != nil {
			return err
		}
		regions := []string{e.Region}
		if e.Region == "" {
			if regions, err = a.repo.MemberRegions(ctx, e.PersonID); err != nil {
				return err
			}
		}
		for _, region := range regions {
			if err := a.repo.RefreshGaps(ctx, region, e.Topics); err != nil {
				return err
			}
		}
		return nil
	})
}

// RequestReader is what reading requests and one's expertise needs stored and loaded.
type RequestReader interface {
	// Requests lists a page of requests (see RequestFilter), newest first.
	Requests(ctx context.Context, f RequestFilter) ([]RequestCard, error)
	// ReadRequest loads a request with the experts it was routed to (nearest first) and
	// its answers (oldest first), MatchedNow as for reader; an unknown request is a 404.
	ReadRequest(ctx context.Context, id, reader string) (StoredRequest, error)
	// ExpertiseOf lists person's declarations, newest first.
	ExpertiseOf(ctx context.Context, person string) ([]Expertise, error)
	// WithdrawExpertise deletes a declaration after authorize has seen it, and returns it;
	// an unknown one is a 404.
	WithdrawExpertise(ctx context.Context, id string, authorize func(Expertise) error) (Expertise, error)
}
