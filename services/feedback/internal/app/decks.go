package app

// Session decks: a coordinator's questions for one session under one room code, each an
// open poll underneath, and the live feeds a presenter and a room follow.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/feedback/domain"
)

// DeckRepository is what decks need of storage beyond polls.
type DeckRepository interface {
	CreateDeck(ctx context.Context, d *domain.Deck, polls []*domain.Poll) error
	Deck(ctx context.Context, id string) (*domain.Deck, error)
	DeckByCode(ctx context.Context, code string) (*domain.Deck, error)
	DecksOf(ctx context.Context, cop string) ([]*domain.Deck, error)
	MoveDeck(ctx context.Context, id string, position int) error
	MarkDeckClosed(ctx context.Context, id string, now time.Time) error
	AnswerCount(ctx context.Context, poll string) (int, error)
}

// LiveWait is how long a live feed waits for a change before answering with what it has:
// short enough for proxies that drop idle requests, long enough that an idle room costs
// little.
const LiveWait = 20 * time.Second

// Live wakes the live feeds' waiters when something they show may have changed. Wake is
// called for every committed answer, close or move (PostgreSQL's notices, from every
// replica); each waiter recomputes what it shows and answers only if that changed.
type Live struct {
	mu   sync.Mutex
	ch   chan struct{}
	stop chan struct{}
	once sync.Once
}

// NewLive returns a Live with no waiters.
func NewLive() *Live { return &Live{ch: make(chan struct{}), stop: make(chan struct{})} }

// Stop ends every wait, now and later: the service is shutting down, and a long poll
// must not hold the HTTP server's graceful shutdown.
func (l *Live) Stop() { l.once.Do(func() { close(l.stop) }) }

// Wake wakes every current waiter.
func (l *Live) Wake() {
	l.mu.Lock()
	close(l.ch)
	l.ch = make(chan struct{})
	l.mu.Unlock()
}

func (l *Live) changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ch
}

// Decks are the use cases of session decks.
type Decks struct {
	app  *Application
	repo DeckRepository
	live *Live
	wait time.Duration
}

// NewDecks returns the decks' use cases over a's polls and repo, woken by live.
func NewDecks(a *Application, repo DeckRepository, live *Live) *Decks {
	return &Decks{app: a, repo: repo, live: live, wait: LiveWait}
}

// NewDeck is the input of CreateDeck.
type NewDeck struct {
	CoPID     string         `json:"cop_id"`
	SessionID string         `json:"session_id"`
	Title     string         `json:"title"`
	Questions []DeckQuestion `json:"questions"`
}

// DeckQuestion is one question of a new deck: an open poll's question and threshold.
type DeckQuestion struct {
	Kind         domain.Kind   `json:"kind"`
	Question     string        `json:"question"`
	Options      []string      `json:"options"`
	Scale        *domain.Scale `json:"scale"`
	MinResponses *int          `json:"min_responses"`
	// Purpose is poll (default) or learning_priorities for a ranking of learning topics.
	Purpose string `json:"purpose"`
}

// validate checks in as asked for at now, naming fields as the request does
// (questions[1].options), and returns the deck's polls, not yet stored.
func (in *NewDeck) validate(now time.Time) ([]*domain.Poll, error) {
	in.Title = strings.TrimSpace(in.Title)
	var fields []apperr.FieldError
	bad := func(field, msg string) { fields = append(fields, apperr.FieldError{Field: field, Message: msg}) }
	if in.CoPID == "" {
		bad("cop_id", "is required")
	}
	if in.Title == "" || utf8.RuneCountInString(in.Title) > domain.MaxDeckTitle || !utf8.ValidString(in.Title) {
		bad("title", fmt.Sprintf("is required (at most %d characters)", domain.MaxDeckTitle))
	}
	if len(in.SessionID) > 64 {
		bad("session_id", "is at most 64 characters")
	}
	if len(in.Questions) == 0 || len(in.Questions) > domain.MaxDeckQuestions {
		bad("questions", fmt.Sprintf("needs 1 to %d questions", domain.MaxDeckQuestions))
	}
	var polls []*domain.Poll
	for i, dq := range in.Questions {
		np := NewPoll{CoPID: in.CoPID, Kind: dq.Kind, Question: dq.Question, Options: dq.Options, Scale: dq.Scale,
			Audience: domain.AudienceOpen, MinResponses: dq.MinResponses, Purpose: dq.Purpose}
		q, minResponses, err := np.validate(now)
		var ae *apperr.Error
		if errors.As(err, &ae) {
			for _, f := range ae.Fields {
				bad(fmt.Sprintf("questions[%d].%s", i, f.Field), f.Message)
			}
			continue
		} else if err != nil {
			return nil, err
		}
		polls = append(polls, &domain.Poll{ID: strings.ToLower(events.NewID()), CoPID: in.CoPID, SessionID: in.SessionID,
			Kind: string(q.Kind), Purpose: np.Purpose, Audience: domain.AudienceOpen, Questions: []domain.Question{q},
			MinResponses: minResponses, OpenedAt: now})
	}
	if len(fields) > 0 {
		return nil, apperr.InvalidFields(fields...)
	}
	return polls, nil
}

// Create stores a deck (the CoP's coordinator, its hub, national): one open poll per
// question, the first shown.
func (d *Decks) Create(ctx context.Context, c httpx.Claims, in NewDeck) (*LiveState, error) {
	a := d.app
	if err := httpx.Authorize(c, c.IsNational() || c.Holds(httpx.RoleHub) || c.IsCoordinatorOf(in.CoPID), "prepare decks for this CoP"); err != nil {
		return nil, err
	}
	now := a.now()
	polls, err := in.validate(now)
	if err != nil {
		return nil, err
	}
	if err := a.authorize(ctx, c, in.CoPID, true, "prepare decks for this CoP"); err != nil {
		return nil, err
	}
	if _, known, err := a.repo.CoPRegion(ctx, in.CoPID); err != nil || !known {
		if err == nil {
			err = apperr.Unprocessable("cop_id", "is not an approved CoP")
		}
		return nil, err
	}
	deck := &domain.Deck{ID: strings.ToLower(events.NewID()), CoPID: in.CoPID, Title: in.Title, CreatedAt: now}
	if err := d.repo.CreateDeck(ctx, deck, polls); err != nil {
		return nil, err
	}
	return d.state(ctx, deck)
}

// load returns a deck its caller may present: the CoP's coordinator, its hub, national.
func (d *Decks) load(ctx context.Context, c httpx.Claims, id, what string) (*domain.Deck, error) {
	if err := httpx.Authorize(c, c.Signed(), what); err != nil {
		return nil, err
	}
	deck, err := d.repo.Deck(ctx, id)
	if err != nil {
		return nil, err
	}
	return deck, d.app.authorize(ctx, c, deck.CoPID, true, what)
}

// DeckSummary is one deck of a CoP's list.
type DeckSummary struct {
	ID        string    `json:"id"`
	Code      string    `json:"code"`
	Title     string    `json:"title"`
	Status    string    `json:"status"`
	Questions int       `json:"questions"`
	CreatedAt time.Time `json:"created_at"`
}

// Of lists a CoP's decks, newest first, to those who may present them.
func (d *Decks) Of(ctx context.Context, c httpx.Claims, cop string) ([]DeckSummary, error) {
	if err := d.app.authorize(ctx, c, cop, true, "see this CoP's decks"); err != nil {
		return nil, err
	}
	decks, err := d.repo.DecksOf(ctx, cop)
	if err != nil {
		return nil, err
	}
	out := make([]DeckSummary, len(decks))
	for i, deck := range decks {
		out[i] = DeckSummary{ID: deck.ID, Code: deck.Code, Title: deck.Title, Status: status(deck.Closed()),
			Questions: len(deck.PollIDs), CreatedAt: deck.CreatedAt}
	}
	return out, nil
}

// Get returns a deck and its live results now.
func (d *Decks) Get(ctx context.Context, c httpx.Claims, id string) (*LiveState, error) {
	deck, err := d.load(ctx, c, id, "present this deck")
	if err != nil {
		return nil, err
	}
	return d.state(ctx, deck)
}

// Move shows the question at position to the room.
func (d *Decks) Move(ctx context.Context, c httpx.Claims, id string, position int) (*LiveState, error) {
	if _, err := d.load(ctx, c, id, "present this deck"); err != nil {
		return nil, err
	}
	if err := d.repo.MoveDeck(ctx, id, position); err != nil {
		return nil, err
	}
	return d.Get(ctx, c, id)
}

// Close closes every question still open, each with its results as any poll's close
// publishes them, then the deck: the room sees that the session is over, the presenter
// the final tally.
func (d *Decks) Close(ctx context.Context, c httpx.Claims, id string) (*LiveState, error) {
	deck, err := d.load(ctx, c, id, "close this deck")
	if err != nil {
		return nil, err
	}
	if deck.Closed() {
		return nil, apperr.Conflict("the deck is already closed")
	}
	for _, poll := range deck.PollIDs {
		_, err := d.app.repo.Close(ctx, poll, d.app.now())
		if k, _ := apperr.KindOf(err); err != nil && k != apperr.KindConflict {
			return nil, err
		}
	}
	if err := d.repo.MarkDeckClosed(ctx, id, d.app.now()); err != nil {
		return nil, err
	}
	return d.Get(ctx, c, id)
}

// Live returns the deck's live state as soon as it differs from the version after (at
// once when it does already), or when LiveWait passed without a change.
func (d *Decks) Live(ctx context.Context, c httpx.Claims, id, after string) (*LiveState, error) {
	// As for each computation below: a caller who leaves ends the waiting, not a query.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), computeFor)
	defer cancel()
	if _, err := d.load(lctx, c, id, "present this deck"); err != nil {
		return nil, err
	}
	return waitChange(ctx, d, after, func(ctx context.Context) (*LiveState, string, error) {
		deck, err := d.repo.Deck(ctx, id)
		if err != nil {
			return nil, "", err
		}
		st, err := d.state(ctx, deck)
		if err != nil {
			return nil, "", err
		}
		return st, st.Version, nil
	})
}

// PollLive is Live for an open poll shown alone: the poll as a deck of one question, its
// own code the room's. Members' polls have no live view: their results wait for the close,
// and so does how many answered.
func (d *Decks) PollLive(ctx context.Context, c httpx.Claims, id, after string) (*LiveState, error) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), computeFor)
	defer cancel()
	p, err := d.app.loadPoll(lctx, c, id, true, "present this poll")
	if err != nil {
		return nil, err
	}
	if p.Audience != domain.AudienceOpen {
		return nil, apperr.Conflict("a members' poll has no live results: they are withheld until it closes")
	}
	return waitChange(ctx, d, after, func(ctx context.Context) (*LiveState, string, error) {
		p, err := d.app.repo.Poll(ctx, id)
		if err != nil {
			return nil, "", err
		}
		deck := &domain.Deck{ID: p.ID, Code: p.Code, CoPID: p.CoPID, Title: p.Questions[0].Prompt, PollIDs: []string{p.ID},
			CreatedAt: p.OpenedAt, ClosedAt: p.ClosedAt}
		if p.Closed(d.app.now()) && deck.ClosedAt == nil {
			deck.ClosedAt = p.ClosesAt
		}
		st, err := d.state(ctx, deck)
		if err != nil {
			return nil, "", err
		}
		return st, st.Version, nil
	})
}

// Room returns what a room shows under code (the current question, nothing about the
// CoP, no results) as soon as it differs from the version after, or after LiveWait.
func (d *Decks) Room(ctx context.Context, code, after string) (*RoomState, error) {
	code = strings.ToUpper(code)
	return waitChange(ctx, d, after, func(ctx context.Context) (*RoomState, string, error) {
		deck, err := d.repo.DeckByCode(ctx, code)
		if err != nil {
			return nil, "", err
		}
		st, err := d.room(ctx, deck)
		if err != nil {
			return nil, "", err
		}
		return st, st.Version, nil
	})
}

// waitChange computes a state until its version differs from after, waking when Live does
// and giving up waiting after d.wait. Taking the wake channel before computing means a
// change committed while computing is never missed. A computation runs to its end even
// when the caller leaves meanwhile (it is a few queries): the caller leaving ends only the
// waiting, with the state it saw last.
func waitChange[T any](ctx context.Context, d *Decks, after string, compute func(context.Context) (T, string, error)) (T, error) {
	timeout := time.NewTimer(d.wait)
	defer timeout.Stop()
	for {
		woken := d.live.changed()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), computeFor)
		st, version, err := compute(cctx)
		cancel()
		if err != nil || after == "" || version != after {
			return st, err
		}
		select {
		case <-woken:
		case <-timeout.C:
			return st, nil
		case <-d.live.stop:
			return st, nil
		case <-ctx.Done():
			return st, nil // nobody reads this answer
		}
	}
}

// computeFor bounds one computation of a live state.
const computeFor = 10 * time.Second

// LiveState is a deck as its presenter sees it: every question with its answer count and
// its results as anyone allowed may read them now (withheld below the threshold, then in
// steps of it; whole once closed).
type LiveState struct {
	// Version changes exactly when anything else here changes.
	Version   string          `json:"version"`
	ID        string          `json:"id"`
	Code      string          `json:"code"`
	CoPID     string          `json:"cop_id"`
	Title     string          `json:"title"`
	Status    string          `json:"status"`
	Current   int             `json:"current"`
	Questions []QuestionState `json:"questions"`
}

// QuestionState is one question of a deck with its live results.
type QuestionState struct {
	Position     int             `json:"position"`
	PollID       string          `json:"poll_id"`
	Question     domain.Question `json:"question"`
	MinResponses int             `json:"min_responses"`
	Status       string          `json:"status"`
	// Answers is how many answers arrived: it tells the room that answers come in, and
	// nothing about any of them.
	Answers int            `json:"answers"`
	Results domain.Results `json:"results"`
}

func status(closed bool) string {
	if closed {
		return "closed"
	}
	return "open"
}

func (d *Decks) state(ctx context.Context, deck *domain.Deck) (*LiveState, error) {
	st := &LiveState{ID: deck.ID, Code: deck.Code, CoPID: deck.CoPID, Title: deck.Title,
		Status: status(deck.Closed()), Current: deck.Current, Questions: make([]QuestionState, 0, len(deck.PollIDs))}
	now := d.app.now()
	for i, id := range deck.PollIDs {
		p, err := d.app.repo.Poll(ctx, id)
		if err != nil {
			return nil, err
		}
		res, err := d.app.results(ctx, p)
		if err != nil {
			return nil, err
		}
		n, err := d.repo.AnswerCount(ctx, id)
		if err != nil {
			return nil, err
		}
		st.Questions = append(st.Questions, QuestionState{Position: i, PollID: p.ID, Question: p.Questions[0],
			MinResponses: p.MinResponses, Status: status(p.Closed(now)), Answers: n, Results: res})
	}
	return st, version(st)
}

// RoomState is what a room sees of a deck: its title and the question to answer now.
type RoomState struct {
	Version string `json:"version"`
	Code    string `json:"code"`
	Title   string `json:"title"`
	Status  string `json:"status"`
	// Position and Total say "question 2 of 3".
	Position int `json:"position"`
	Total    int `json:"total"`
	// Question is absent once the deck is closed.
	Question *RoomQuestion `json:"question,omitempty"`
}

// RoomQuestion is the question shown now and the poll code its answers go to.
type RoomQuestion struct {
	PollCode string          `json:"poll_code"`
	Question domain.Question `json:"question"`
	Status   string          `json:"status"`
}

func (d *Decks) room(ctx context.Context, deck *domain.Deck) (*RoomState, error) {
	st := &RoomState{Code: deck.Code, Title: deck.Title, Status: status(deck.Closed()), Position: deck.Current, Total: len(deck.PollIDs)}
	if !deck.Closed() {
		p, err := d.app.repo.Poll(ctx, deck.CurrentPoll())
		if err != nil {
			return nil, err
		}
		st.Question = &RoomQuestion{PollCode: p.Code, Question: p.Questions[0], Status: status(p.Closed(d.app.now()))}
	}
	return st, version(st)
}

// version fingerprints a state: equal states, equal versions.
func version[T interface{ *LiveState | *RoomState }](st T) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	v := hex.EncodeToString(sum[:12])
	switch s := any(st).(type) {
	case *LiveState:
		s.Version = v
	case *RoomState:
		s.Version = v
	}
	return nil
}
