package domain

import "time"

// A deck is the questions a coordinator prepared for one session, shown one at a time under
// one room code. Each question is an open poll of its own underneath (its own threshold,
// its own sealed answers, its own close), so everything promised of open polls holds for
// each of them; the deck only adds which question the room sees now.
type Deck struct {
	ID    string
	Code  string
	CoPID string
	Title string
	// PollIDs are the deck's questions in the order the presenter shows them.
	PollIDs   []string
	Current   int // index into PollIDs of the question the room sees
	CreatedAt time.Time
	ClosedAt  *time.Time
}

// Deck size: a session's worth of questions.
const (
	MaxDeckQuestions = 10
	MaxDeckTitle     = 200
)

// Closed reports whether the presenter closed the deck.
func (d *Deck) Closed() bool { return d.ClosedAt != nil }

// CurrentPoll is the poll the room answers now.
func (d *Deck) CurrentPoll() string { return d.PollIDs[d.Current] }
