package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
)

// A hub officer gets, the Monday after a week with news in their region, one weekly digest
// (text and HTML) of the region's CoPs and the week's gaps and declining participation;
// the hub officer of a region without news gets none.
func TestWeeklyHubDigest(t *testing.T) {
	e := start(t, t0)
	setUpCoP(t, e, "ana", "bo")
	e.publish(t, events.GapIdentified{Region: "vic", Topic: "dementia care", SupplyingRegions: []string{"nsw"}},
		events.ParticipationDeclining{CoPID: "c1", EarlyRate: 0.8, RecentRate: 0.4, Drop: 0.4})
	e.waitCount(t, 2, `SELECT count(*) FROM news WHERE region = 'vic'`)
	e.waitCount(t, 3, `SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL`) // the gap to the hub; declining to coordinator and hub
	e.clock.Set(time.Date(2026, 5, 11, 6, 0, 0, 0, time.UTC))
	e.waitCount(t, 1, `SELECT count(*) FROM mail_outbox WHERE idem_key LIKE 'h/%' AND sent_at IS NOT NULL`)
	var digest string
	for _, m := range e.mp.MessagesTo(t, "hubvic@example.org") {
		if strings.HasPrefix(m.Subject, "Weekly digest") {
			digest = m.ID
		}
	}
	if digest == "" {
		t.Fatal("no weekly digest for the vic hub officer")
	}
	m := e.mp.Message(t, digest)
	for _, want := range []string{"region vic", "Nobody in region vic covers dementia care", "Participation is declining in Youth mental health", "Youth mental health: 2 members"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
			t.Errorf("digest lacks %q:\n%s", want, m.Text)
		}
	}
	for _, m := range e.mp.MessagesTo(t, "hubnsw@example.org") {
		t.Errorf("the nsw hub officer got %q", m.Subject)
	}
}
