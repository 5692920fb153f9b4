package feedback_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// TestSessionHeldOpensEvaluationOnce: scheduling's session_held opens one evaluation for
// the session, whether the event is redelivered or published twice.
func TestSessionHeldOpensEvaluationOnce(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	held := events.SessionHeld{SessionID: "sess-1", CoPID: "cop-a", ProgramID: "prog-1", Number: 1,
		HeldAt: e.clock.Now(), Topics: []string{}}
	// Two distinct events about the same session (a republish), each also processed once.
	e.n.Publish(t, held, held)
	testkit.Eventually(t, waitFor, func() error {
		if n := e.count(`SELECT count(*) FROM processed_events WHERE handler LIKE '%session_held%'`); n != 2 {
			return fmt.Errorf("%d of 2 session_held processed", n)
		}
		return nil
	})
	var eval struct {
		Poll    poll    `json:"poll"`
		Results results `json:"results"`
	}
	e.must(http.StatusOK, &eval, e.coordinator("cop-a"), "GET", "/v1/sessions/sess-1/evaluation", nil)
	if eval.Poll.Kind != "evaluation" || eval.Poll.Purpose != "evaluation" || eval.Poll.SessionID != "sess-1" || eval.Poll.Status != "open" {
		t.Fatalf("evaluation %+v", eval.Poll)
	}
	var keys []string
	for _, q := range eval.Poll.Questions {
		keys = append(keys, q.Key)
	}
	if fmt.Sprint(keys) != "[confidence usefulness takeaway]" {
		t.Errorf("questions %v, want confidence, usefulness and takeaway", keys)
	}
	if !eval.Results.Withheld || eval.Results.Reason != "until_closed" {
		t.Errorf("results of an open evaluation %+v, want withheld until closed", eval.Results)
	}
	if n := e.count(`SELECT count(*) FROM polls WHERE session_id = 'sess-1'`); n != 1 {
		t.Fatalf("%d evaluations for one session", n)
	}
	opened := e.awaitEvent("poll_opened", eval.Poll.ID)
	if opened["session_id"] != "sess-1" || opened["kind"] != "evaluation" {
		t.Errorf("poll_opened %v", opened)
	}
	if n := e.outboxCount("feedback.poll_opened.v1", eval.Poll.ID); n != 1 {
		t.Errorf("%d poll_opened for one evaluation", n)
	}
	e.problem(http.StatusNotFound, e.national(), "GET", "/v1/sessions/sess-unknown/evaluation", nil)
}

// TestCheckinDueOpensCheckin: scheduling's checkin_due opens a check-in for the members.
func TestCheckinDueOpensCheckin(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	e.n.Publish(t, events.CheckinDue{CoPID: "cop-a", SessionID: "sess-4", Number: 4})
	var list struct {
		Polls []poll `json:"polls"`
	}
	testkit.Eventually(t, waitFor, func() error {
		e.must(http.StatusOK, &list, e.coordinator("cop-a"), "GET", "/v1/cops/cop-a/polls", nil)
		if len(list.Polls) != 1 {
			return fmt.Errorf("%d polls", len(list.Polls))
		}
		return nil
	})
	p := list.Polls[0]
	if p.Kind != "checkin" || p.Purpose != "checkin" || len(p.Questions) != 2 || p.Questions[0].Key != "meets_needs" {
		t.Fatalf("check-in %+v", p)
	}
	members := persons("chk", 5)
	e.join("cop-a", "vic", members...)
	for i, m := range members {
		change := []string{"More case studies", "shorter sessions"}[i%2]
		e.vote(p.ID, m, map[string]any{"meets_needs": []string{"yes", "partly"}[i%2], "change": change})
	}
	e.clock.Advance(15 * 24 * time.Hour) // past the check-in's two weeks
	published := e.awaitEvent("results_published", p.ID)
	if published["purpose"] != "checkin" || published["responses"] != float64(5) {
		t.Errorf("results_published %v", published)
	}
}

// TestConfidenceTrend: mean confidence per session over time, withheld where too few
// members answered.
func TestConfidenceTrend(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	members := persons("conf", 5)
	e.join("cop-a", "vic", members...)
	start := e.clock.Now()
	for i, s := range []string{"s1", "s2"} {
		e.n.Publish(t, events.SessionHeld{SessionID: s, CoPID: "cop-a", ProgramID: "prog", Number: i + 1,
			HeldAt: start.Add(time.Duration(i) * 24 * time.Hour), Topics: []string{}})
	}
	evals := map[string]string{}
	testkit.Eventually(t, waitFor, func() error {
		for _, s := range []string{"s1", "s2"} {
			var ev struct {
				Poll poll `json:"poll"`
			}
			if code, raw := e.call(e.national(), "GET", "/v1/sessions/"+s+"/evaluation", nil); code != http.StatusOK {
				return fmt.Errorf("%s: %d %s", s, code, raw)
			} else if err := json.Unmarshal(raw, &ev); err != nil {
				return err
			}
			evals[s] = ev.Poll.ID
		}
		return nil
	})
	for i, m := range members {
		e.vote(evals["s1"], m, map[string]any{"confidence": 2 + i%2, "usefulness": 4, "takeaway": "maps"})
		if i < 2 {
			e.vote(evals["s2"], m, map[string]any{"confidence": 5, "usefulness": 5, "takeaway": "data"})
		}
	}
	e.clock.Advance(10 * 24 * time.Hour) // both evaluations past their week
	var trend struct {
		Sessions []struct {
			SessionID string   `json:"session_id"`
			Withheld  bool     `json:"withheld"`
			Mean      *float64 `json:"mean"`
		} `json:"sessions"`
	}
	e.must(http.StatusOK, &trend, e.hub("vic"), "GET", "/v1/cops/cop-a/confidence", nil)
	if len(trend.Sessions) != 2 || trend.Sessions[0].SessionID != "s1" || trend.Sessions[0].Mean == nil ||
		*trend.Sessions[0].Mean != 2.4 || !trend.Sessions[1].Withheld || trend.Sessions[1].Mean != nil {
		t.Fatalf("trend %+v, want s1 at 2.4 and s2 withheld", trend.Sessions)
	}
}

// TestStageAssessment: the quiz suggests a stage with reasons and a focus, and publishes
// stage_assessed.
func TestStageAssessment(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	var quiz struct {
		Questions []struct {
			ID      string `json:"id"`
			Options []struct {
				ID string `json:"id"`
			} `json:"options"`
		} `json:"questions"`
	}
	e.must(http.StatusOK, &quiz, e.member("p-1"), "GET", "/v1/stage-quiz", nil)
	if len(quiz.Questions) != 10 {
		t.Fatalf("%d quiz questions", len(quiz.Questions))
	}
	answers := map[string]string{}
	for _, q := range quiz.Questions {
		answers[q.ID] = "c"
	}
	answers["q1"] = "b"
	var a struct {
		ID      string   `json:"id"`
		Stage   string   `json:"stage"`
		Reasons []string `json:"reasons"`
		Focus   string   `json:"focus"`
	}
	e.must(http.StatusCreated, &a, e.coordinator("cop-a"), "POST", "/v1/cops/cop-a/stage-assessments", map[string]any{"answers": answers})
	if a.Stage != "maturing" || len(a.Reasons) != 9 || a.Focus == "" {
		t.Fatalf("assessment %+v", a)
	}
	testkit.Eventually(t, waitFor, func() error {
		for _, ev := range e.feedbackEvents("stage_assessed") {
			if ev["assessment_id"] == a.ID && ev["stage"] == "maturing" && ev["cop_id"] == "cop-a" {
				return nil
			}
		}
		return fmt.Errorf("no stage_assessed yet")
	})
	delete(answers, "q2")
	if f := e.problem(http.StatusBadRequest, e.coordinator("cop-a"), "POST", "/v1/cops/cop-a/stage-assessments", map[string]any{"answers": answers}); fmt.Sprint(f) != "[answers.q2]" {
		t.Errorf("missing answer names %v", f)
	}
	if n := e.count(`SELECT count(*) FROM stage_assessments`); n != 1 {
		t.Errorf("%d assessments stored, want 1", n)
	}
}
