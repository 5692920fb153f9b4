package feedback_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// awaiting lists the ids of the polls GET /v1/me/polls gives person.
func (e *env) awaiting(person string) []string {
	e.t.Helper()
	var out struct {
		Polls []poll `json:"polls"`
	}
	e.must(http.StatusOK, &out, e.member(person), "GET", "/v1/me/polls", nil)
	ids := []string{}
	for _, p := range out.Polls {
		ids = append(ids, p.ID)
	}
	return ids
}

// TestWhatAwaitsAMember: a member is shown the open members' polls of their CoPs (an
// evaluation opened by a session held, a poll a coordinator opened) until they take the
// ballot, and never open-room polls, closed polls, other CoPs' polls, or polls of a CoP
// they left.
func TestWhatAwaitsAMember(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	e.approve("cop-b", "vic")
	e.join("cop-a", "vic", "p-1", "p-2", "p-4")
	e.join("cop-b", "vic", "p-3")
	if got := e.awaiting("p-1"); len(got) != 0 {
		t.Fatalf("nothing is open yet, p-1 awaits %v", got)
	}
	e.n.Publish(t, events.SessionHeld{SessionID: "sess-3", CoPID: "cop-a", ProgramID: "pg", Number: 3, HeldAt: e.clock.Now(), Topics: []string{}})
	var eval poll
	testkit.Eventually(t, waitFor, func() error {
		if e.count(`SELECT count(*) FROM polls WHERE session_id = 'sess-3'`) != 1 {
			return fmt.Errorf("no evaluation yet")
		}
		return nil
	})
	var ev struct {
		Poll poll `json:"poll"`
	}
	e.must(http.StatusOK, &ev, e.member("p-1"), "GET", "/v1/sessions/sess-3/evaluation", nil)
	eval = ev.Poll
	e.clock.Advance(time.Minute)
	members := e.createPoll(choicePoll("cop-a"))
	room := e.createPoll(choicePoll("cop-a", "audience", "open"))
	closed := e.createPoll(choicePoll("cop-a"))
	e.must(http.StatusOK, nil, e.national(), "POST", "/v1/polls/"+closed.ID+"/close", nil)
	other := e.createPoll(choicePoll("cop-b"))

	if got, want := e.awaiting("p-1"), []string{eval.ID, members.ID}; !slices.Equal(got, want) {
		t.Errorf("p-1 awaits %v, want the evaluation then the poll %v (not the room's %s nor the closed %s)", got, want, room.ID, closed.ID)
	}
	if got := e.awaiting("p-3"); !slices.Equal(got, []string{other.ID}) {
		t.Errorf("p-3 of cop-b awaits %v, want only cop-b's poll %s", got, other.ID)
	}

	// Taking the ballot is what takes a poll off the list, answered or not: the service
	// cannot tell, and does not look.
	b := e.ballot(eval.ID, "p-1")
	if got := e.awaiting("p-1"); !slices.Equal(got, []string{members.ID}) {
		t.Errorf("after the evaluation's ballot p-1 awaits %v, want %v", got, []string{members.ID})
	}
	e.must(http.StatusCreated, nil, "", "POST", "/v1/polls/"+eval.ID+"/responses",
		map[string]any{"ballot": b, "answer": map[string]any{"confidence": 4, "usefulness": 5, "takeaway": "rotation"}})
	if got := e.awaiting("p-2"); !slices.Equal(got, []string{eval.ID, members.ID}) {
		t.Errorf("p-1's ballot changed what p-2 awaits: %v", got)
	}

	// A poll past its closing time is no longer awaited, closed or not yet.
	e.clock.Advance(8 * 24 * time.Hour)
	if got := e.awaiting("p-2"); !slices.Equal(got, []string{members.ID}) {
		t.Errorf("a week after the session p-2 awaits %v, want only the poll without a closing time", got)
	}

	e.n.Publish(t, events.MemberLeft{CoPID: "cop-a", Region: "vic", PersonID: "p-4", Reason: "left"})
	testkit.Eventually(t, waitFor, func() error {
		if got := e.awaiting("p-4"); len(got) != 0 {
			return fmt.Errorf("p-4 left and still awaits %v", got)
		}
		return nil
	})
	if got := e.problem(http.StatusUnauthorized, "", "GET", "/v1/me/polls", nil); len(got) != 0 {
		t.Errorf("anonymous: fields %v", got)
	}
}

// TestPublicStageQuiz: anyone reads and scores the quiz without an account, and nothing is
// stored; a coordinator's saved assessments form the CoP's history, which its members may
// read and other CoPs' members may not.
func TestPublicStageQuiz(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	e.approve("cop-b", "vic")
	e.join("cop-a", "vic", "p-1")
	e.join("cop-b", "vic", "p-2")
	var quiz struct {
		Questions []struct {
			ID string `json:"id"`
		} `json:"questions"`
	}
	e.must(http.StatusOK, &quiz, "", "GET", "/v1/stage-quiz", nil)
	if len(quiz.Questions) != 10 {
		t.Fatalf("the public quiz has %d questions", len(quiz.Questions))
	}
	answers := map[string]string{}
	for _, q := range quiz.Questions {
		answers[q.ID] = "a"
	}
	answers["q10"] = "b"
	var score struct {
		Stage   string   `json:"stage"`
		Reasons []string `json:"reasons"`
		Focus   string   `json:"focus"`
	}
	e.must(http.StatusOK, &score, "", "POST", "/v1/stage-quiz/score", map[string]any{"answers": answers})
	if score.Stage != "potential" || len(score.Reasons) != 9 || score.Focus == "" {
		t.Errorf("anonymous score %+v", score)
	}
	delete(answers, "q3")
	answers["q11"] = "a"
	if f := e.problem(http.StatusBadRequest, "", "POST", "/v1/stage-quiz/score", map[string]any{"answers": answers}); !slices.Equal(f, []string{"answers.q11", "answers.q3"}) && !slices.Equal(f, []string{"answers.q3", "answers.q11"}) {
		t.Errorf("bad answers name %v", f)
	}
	if n := e.count(`SELECT count(*) FROM stage_assessments`); n != 0 {
		t.Errorf("scoring stored %d assessments", n)
	}

	save := func(option string) {
		all := map[string]string{}
		for _, q := range quiz.Questions {
			all[q.ID] = option
		}
		e.must(http.StatusCreated, nil, e.coordinator("cop-a"), "POST", "/v1/cops/cop-a/stage-assessments", map[string]any{"answers": all})
	}
	save("b")
	e.clock.Advance(30 * 24 * time.Hour)
	save("c")
	var history struct {
		Assessments []struct {
			Stage      string    `json:"stage"`
			AssessedAt time.Time `json:"assessed_at"`
			Focus      string    `json:"focus"`
		} `json:"assessments"`
	}
	e.must(http.StatusOK, &history, e.member("p-1"), "GET", "/v1/cops/cop-a/stage-assessments", nil)
	if len(history.Assessments) != 2 || history.Assessments[0].Stage != "coalescing" || history.Assessments[1].Stage != "maturing" ||
		!history.Assessments[1].AssessedAt.After(history.Assessments[0].AssessedAt) || history.Assessments[1].Focus == "" {
		t.Errorf("history %+v, want coalescing then maturing a month apart", history.Assessments)
	}
	e.problem(http.StatusForbidden, e.member("p-2"), "GET", "/v1/cops/cop-a/stage-assessments", nil)
}

// TestPollsOfAnUnknownCoP: a CoP the service does not know is not found for those who may
// ask about it (so a client can tell "no polls yet" from "not kept here"), and still
// forbidden to a hub, who learns nothing of other regions' ids.
func TestPollsOfAnUnknownCoP(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	var out struct {
		Polls []poll `json:"polls"`
	}
	e.must(http.StatusOK, &out, e.national(), "GET", "/v1/cops/cop-a/polls", nil)
	if len(out.Polls) != 0 {
		t.Errorf("a new CoP has polls %v", out.Polls)
	}
	e.problem(http.StatusNotFound, e.national(), "GET", "/v1/cops/cop-nowhere/polls", nil)
	e.problem(http.StatusNotFound, e.coordinator("cop-nowhere"), "GET", "/v1/cops/cop-nowhere/polls", nil)
	e.problem(http.StatusForbidden, e.hub("vic"), "GET", "/v1/cops/cop-nowhere/polls", nil)
}
