package domain

import "fmt"

// Turnout is one held session's attendance.
//
// The attendance rate has one definition across copnet (scheduling's participation, its
// decline rule, and the console's figures, which read attended and members from
// attendance_recorded): members present ÷ members of the CoP on the roster when the
// session took place. "On the roster when the session took place" means a member at the
// session's start, plus anyone recorded at the session (a record shows they took part,
// even when the roster learned of them later), so the rate is never above 1 and does not
// change when people join or leave afterwards. Members nobody recorded count as not
// present; apologies are not presence.
type Turnout struct {
	Attended, Apologies, Absent int
	// Members is the roster size when the session took place, as defined above.
	Members int
}

// Rate is the attendance rate defined on Turnout, between 0 and 1.
func (t Turnout) Rate() float64 {
	// Members already includes everyone recorded; the max only guards rows stored before
	// it did (their base was the members counted when the session was marked held).
	base := max(t.Members, t.Attended+t.Apologies+t.Absent)
	if base == 0 {
		return 0
	}
	return float64(t.Attended) / float64(base)
}

// DeclineRule says when participation counts as dropping off: the mean rate of the last
// Window held sessions is at least Drop (a fraction) below the mean of the first Window.
type DeclineRule struct {
	Window int
	Drop   float64
}

// DefaultDeclineRule compares the first and last three sessions and flags a 30% drop.
var DefaultDeclineRule = DeclineRule{Window: 3, Drop: 0.3}

// Validate reports a rule that could never or would always fire.
func (r DeclineRule) Validate() error {
	if r.Window < 1 {
		return fmt.Errorf("decline window %d must be at least 1", r.Window)
	}
	if r.Drop <= 0 || r.Drop > 1 {
		return fmt.Errorf("decline drop %v must be in (0, 1]", r.Drop)
	}
	return nil
}

// Trend is the outcome of a DeclineRule on a series of rates.
type Trend struct {
	// Enough is false while there are not more held sessions than one window: the first
	// and the last sessions would then be the same ones.
	Enough     bool
	EarlyRate  float64
	RecentRate float64
	// Drop is the fall from early to recent as a fraction of early; negative when rising.
	Drop      float64
	Declining bool
}

// Assess applies the rule to the attendance rates of held sessions, oldest first.
func (r DeclineRule) Assess(rates []float64) Trend {
	if len(rates) <= r.Window {
		return Trend{}
	}
	t := Trend{Enough: true, EarlyRate: mean(rates[:r.Window]), RecentRate: mean(rates[len(rates)-r.Window:])}
	if t.EarlyRate > 0 {
		t.Drop = (t.EarlyRate - t.RecentRate) / t.EarlyRate
		// A tiny epsilon so that exactly 30% counts as 30% despite float rounding.
		t.Declining = t.Drop >= r.Drop-1e-9
	}
	return t
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}
