package console_test

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/scheduling"
)

// TestAttendanceRateAgreesWithScheduling: one definition of the attendance rate (members
// present ÷ members on the roster when the session took place). Scheduling and the console
// run on one node; the test drives scheduling's API (five members, attendance recorded for
// only some of them, before and after the session is marked held) and the console's
// figures must be scheduling's, session by session.
func TestAttendanceRateAgreesWithScheduling(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n := testkit.StartNode(t, testkit.NodeOptions{Now: clock.Now, Logger: logger},
		scheduling.Factory, console.NewFactory(console.Options{}))
	nat := national(t, n)
	must := func(status int, out any, method, path string, body any) {
		t.Helper()
		if st := n.JSON(t, method, path, nat, body, out); st != status {
			t.Fatalf("%s %s: %d, want %d", method, path, st, status)
		}
	}

	n.Publish(t,
		events.RegionCreated{RegionID: "vic", Name: "Victoria"},
		events.CoPProposed{CoPID: "c1", Region: "vic", Name: "Nurses", Scope: "regional", Topics: []string{"triage"},
			HostOrganisations: []string{"Health"}, Stage: "potential"},
		events.CoPApproved{CoPID: "c1", Region: "vic"})
	members := []string{"m1", "m2", "m3", "m4", "m5"}
	for _, m := range members {
		n.Publish(t, events.MemberJoined{CoPID: "c1", Region: "vic", PersonID: m, CodeOfPracticeVersion: 1})
	}
	testkit.Eventually(t, waitFor, func() error {
		for _, m := range members {
			tok := n.Token(t, httpx.Claims{Subject: m})
			if st, _ := n.Do(t, "GET", "/v1/cops/c1/sessions", tok, nil); st != http.StatusOK {
				return fmt.Errorf("scheduling does not know %s as a member yet (%d)", m, st)
			}
		}
		return nil
	})
	var prog struct {
		Sessions []struct {
			ID string `json:"id"`
		} `json:"sessions"`
	}
	must(http.StatusCreated, &prog, "POST", "/v1/cops/c1/programs", map[string]any{
		"title": "Share, Discuss, Apply", "sessions": 3, "first_session_at": "2026-03-03T18:00",
		"timezone": "Australia/Melbourne", "cadence": "FREQ=WEEKLY;BYDAY=TU", "duration_minutes": 90,
		"format": []string{"share", "discuss", "apply"}, "checkins": []int{}})
	clock.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))

	// Per session: who is recorded how (the rest of the five are not recorded at all), and
	// whether attendance is recorded before the session is marked held.
	plans := []struct {
		records    map[string]string
		holdBefore bool
	}{
		{map[string]string{"m1": "attended", "m2": "attended", "m3": "attended", "m4": "attended"}, true}, // 4 of 5
		{map[string]string{"m1": "attended", "m2": "apologies", "m3": "absent"}, true},                    // 1 of 5
		{map[string]string{"m1": "attended", "m2": "attended", "m3": "attended", "m4": "attended", "m5": "absent"}, false},
	}
	for i, p := range plans {
		id := prog.Sessions[i].ID
		var recs []map[string]string
		for _, m := range members {
			if st, ok := p.records[m]; ok {
				recs = append(recs, map[string]string{"person_id": m, "status": st})
			}
		}
		if p.holdBefore {
			must(http.StatusOK, nil, "POST", "/v1/sessions/"+id+"/held", map[string]any{"notes": "ok", "outcomes": []string{}})
		}
		must(http.StatusOK, nil, "POST", "/v1/sessions/"+id+"/attendance", recs)
		if !p.holdBefore {
			must(http.StatusOK, nil, "POST", "/v1/sessions/"+id+"/held", map[string]any{"notes": "ok", "outcomes": []string{}})
		}
	}

	var part struct {
		Sessions []struct {
			SessionID string  `json:"session_id"`
			Rate      float64 `json:"rate"`
		} `json:"sessions"`
	}
	must(http.StatusOK, &part, "GET", "/v1/cops/c1/participation", nil)
	if len(part.Sessions) != 3 {
		t.Fatalf("scheduling lists %d held sessions, want 3", len(part.Sessions))
	}
	var want []float64
	for _, s := range part.Sessions {
		want = append(want, math.Round(s.Rate*1000)/1000)
	}
	if fmt.Sprint(want) != fmt.Sprint([]float64{0.8, 0.2, 0.8}) {
		t.Fatalf("scheduling's rates %v; the test expects 4 of 5, 1 of 5, 4 of 5", want)
	}

	// The console, once it has applied everything scheduling published.
	testkit.Eventually(t, waitFor, func() error {
		if len(n.Messages(t, "cop.*.scheduling.attendance_recorded")) != 3 || len(n.Messages(t, "cop.*.scheduling.session_held")) != 3 {
			return fmt.Errorf("scheduling has not published every attendance and hold yet")
		}
		return nil
	})
	drained(t, n)
	d := regionRead(t, n, nat, "vic")
	h := healthOf(t, d, "c1")
	if fmt.Sprint(h.AttendanceTrend) != fmt.Sprint(want) || fmt.Sprint(d.AttendanceTrend) != fmt.Sprint(want) {
		t.Errorf("console's attendance: CoP %v, region %v; scheduling says %v", h.AttendanceTrend, d.AttendanceTrend, want)
	}
}
