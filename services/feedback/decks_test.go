package feedback_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// liveDeck is the presenter's view of a deck (GET /v1/decks/{id}, /live).
type liveDeck struct {
	Version   string `json:"version"`
	ID        string `json:"id"`
	Code      string `json:"code"`
	Status    string `json:"status"`
	Current   int    `json:"current"`
	Questions []struct {
		PollID       string          `json:"poll_id"`
		MinResponses int             `json:"min_responses"`
		Status       string          `json:"status"`
		Answers      int             `json:"answers"`
		Results      json.RawMessage `json:"results"`
	} `json:"questions"`
}

// roomDeck is what a room sees (GET /v1/decks/by-code/{code}/current).
type roomDeck struct {
	Version  string `json:"version"`
	Status   string `json:"status"`
	Position int    `json:"position"`
	Total    int    `json:"total"`
	Question *struct {
		PollCode string `json:"poll_code"`
		Question struct {
			Kind string `json:"kind"`
		} `json:"question"`
	} `json:"question"`
}

// sessionDeck is a deck of the three questions a co-design session asks.
func sessionDeck(cop string) map[string]any {
	return map[string]any{"cop_id": cop, "title": "Co-design session 1", "questions": []map[string]any{
		{"kind": "scale", "question": "How confident are you with triage?", "scale": map[string]any{"min": 1, "max": 5}},
		{"kind": "ranking", "question": "Rank what to learn next", "options": []string{"funding", "data", "consent"},
			"purpose": "learning_priorities", "min_responses": 3},
		{"kind": "words", "question": "One word for today"},
	}}
}

func (e *env) room(code, after string) roomDeck {
	e.t.Helper()
	var r roomDeck
	e.must(http.StatusOK, &r, "", "GET", "/v1/decks/by-code/"+code+"/current?after="+url.QueryEscape(after), nil)
	return r
}

// answerRoom answers the room's current question from device n.
func (e *env) answerRoom(code string, device int, answer any) {
	e.t.Helper()
	r := e.room(code, "")
	e.must(http.StatusCreated, nil, "", "POST", "/v1/polls/by-code/"+r.Question.PollCode+"/responses",
		map[string]any{"device_token": fmt.Sprintf("device-token-of-phone-%02d", device), "answer": answer})
}

// TestDeckCreateNamesFieldsAndScopes: a deck is validated whole (fields named by question),
// prepared only by those who may open polls for the CoP, and stored with one open poll per
// question under a room code of its own.
func TestDeckCreateNamesFieldsAndScopes(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	e.approve("cop-b", "nsw")
	e.join("cop-a", "vic", "m-1")

	bad := sessionDeck("cop-a")
	bad["title"] = ""
	bad["questions"].([]map[string]any)[1]["options"] = []string{"only one"}
	bad["questions"].([]map[string]any)[2]["min_responses"] = 2
	if f := e.problem(http.StatusBadRequest, e.coordinator("cop-a"), "POST", "/v1/decks", bad); !slices.Equal(f,
		[]string{"title", "questions[1].options", "questions[2].min_responses"}) {
		t.Errorf("bad deck names %v", f)
	}
	if f := e.problem(http.StatusBadRequest, e.coordinator("cop-a"), "POST", "/v1/decks",
		map[string]any{"cop_id": "cop-a", "title": "Empty", "questions": []any{}}); !slices.Equal(f, []string{"questions"}) {
		t.Errorf("empty deck names %v", f)
	}
	if n := e.count(`SELECT count(*) FROM polls`); n != 0 {
		t.Fatalf("refused decks left %d polls", n)
	}
	e.problem(http.StatusForbidden, e.member("m-1"), "POST", "/v1/decks", sessionDeck("cop-a"))
	e.problem(http.StatusForbidden, e.coordinator("cop-b"), "POST", "/v1/decks", sessionDeck("cop-a"))
	e.problem(http.StatusForbidden, e.hub("nsw"), "POST", "/v1/decks", sessionDeck("cop-a"))
	e.problem(http.StatusUnauthorized, "", "POST", "/v1/decks", sessionDeck("cop-a"))

	var d liveDeck
	e.must(http.StatusCreated, &d, e.coordinator("cop-a"), "POST", "/v1/decks", sessionDeck("cop-a"))
	if len(d.Questions) != 3 || d.Status != "open" || d.Current != 0 || len(d.Code) != 6 {
		t.Fatalf("deck %+v", d)
	}
	if d.Questions[1].MinResponses != 3 || d.Questions[0].MinResponses != 5 {
		t.Errorf("thresholds %d %d, want each question's own", d.Questions[0].MinResponses, d.Questions[1].MinResponses)
	}
	if n := e.count(`SELECT count(*) FROM polls WHERE audience = 'open' AND code <> $1`, d.Code); n != 3 {
		t.Errorf("%d open polls under codes of their own, want 3", n)
	}
	for _, tok := range []string{e.member("m-1"), e.coordinator("cop-b"), e.hub("nsw")} {
		e.problem(http.StatusForbidden, tok, "GET", "/v1/decks/"+d.ID, nil)
		e.problem(http.StatusForbidden, tok, "GET", "/v1/decks/"+d.ID+"/live", nil)
		e.problem(http.StatusForbidden, tok, "POST", "/v1/decks/"+d.ID+"/current", map[string]int{"position": 1})
		e.problem(http.StatusForbidden, tok, "POST", "/v1/decks/"+d.ID+"/close", nil)
	}
	var list struct {
		Decks []struct {
			ID        string `json:"id"`
			Code      string `json:"code"`
			Questions int    `json:"questions"`
			Status    string `json:"status"`
		} `json:"decks"`
	}
	e.must(http.StatusOK, &list, e.coordinator("cop-a"), "GET", "/v1/cops/cop-a/decks", nil)
	if len(list.Decks) != 1 || list.Decks[0].ID != d.ID || list.Decks[0].Code != d.Code || list.Decks[0].Questions != 3 || list.Decks[0].Status != "open" {
		t.Errorf("the CoP's decks: %+v", list.Decks)
	}
	e.problem(http.StatusForbidden, e.member("m-1"), "GET", "/v1/cops/cop-a/decks", nil)
	e.must(http.StatusOK, nil, e.hub("vic"), "GET", "/v1/decks/"+d.ID, nil)
	e.must(http.StatusOK, nil, e.national(), "GET", "/v1/decks/"+d.ID, nil)
	if f := e.problem(http.StatusBadRequest, e.coordinator("cop-a"), "POST", "/v1/decks/"+d.ID+"/current", map[string]int{"position": 3}); !slices.Equal(f, []string{"position"}) {
		t.Errorf("moving past the end names %v", f)
	}
	e.problem(http.StatusBadRequest, e.coordinator("cop-a"), "POST", "/v1/decks/"+d.ID+"/current", map[string]any{})
	e.problem(http.StatusNotFound, "", "GET", "/v1/decks/by-code/NOSUCH/current", nil)

	// The room sees the question, nothing about the CoP.
	_, raw := e.call("", "GET", "/v1/decks/by-code/"+d.Code+"/current", nil)
	if found := contains(string(raw), []string{"cop-a", "cop_id", d.ID, "results"}); len(found) > 0 {
		t.Errorf("the room's view %s shows %v", raw, found)
	}
}

// TestDeckLiveFollowsTheRoom: the room follows the presenter's moves; answers go through
// the open polls' codes, one per device; the presenter's results appear at the question's
// threshold and not before, and two readings one answer apart are identical; the live
// feed answers as soon as something changed; closing shows the final tally and tells the
// room the session is over.
func TestDeckLiveFollowsTheRoom(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	coord := e.coordinator("cop-a")
	var d liveDeck
	e.must(http.StatusCreated, &d, coord, "POST", "/v1/decks", sessionDeck("cop-a"))
	live := func(after string) liveDeck {
		t.Helper()
		var l liveDeck
		e.must(http.StatusOK, &l, coord, "GET", "/v1/decks/"+d.ID+"/live?after="+url.QueryEscape(after), nil)
		return l
	}

	r := e.room(d.Code, "")
	if r.Status != "open" || r.Position != 0 || r.Total != 3 || r.Question.Question.Kind != "scale" {
		t.Fatalf("room %+v", r)
	}
	var withheld []byte
	for i := 1; i <= 4; i++ {
		e.answerRoom(d.Code, i, i)
		l := live("")
		if l.Questions[0].Answers != i || !bytes.Contains(l.Questions[0].Results, []byte(`"withheld":true`)) {
			t.Fatalf("after %d answers: %d answers, results %s", i, l.Questions[0].Answers, l.Questions[0].Results)
		}
		if withheld != nil && !bytes.Equal(withheld, l.Questions[0].Results) {
			t.Fatalf("withheld results differ one answer apart: %s, %s", withheld, l.Questions[0].Results)
		}
		withheld = l.Questions[0].Results
	}
	// A device answers once.
	r = e.room(d.Code, "")
	e.problem(http.StatusConflict, "", "POST", "/v1/polls/by-code/"+r.Question.PollCode+"/responses",
		map[string]any{"device_token": "device-token-of-phone-01", "answer": 5})

	// The feed waiting on the version after four answers answers with the fifth.
	before := live("")
	done := make(chan liveDeck, 1)
	go func() {
		var l liveDeck
		_, raw := e.n.Do(t, "GET", "/v1/decks/"+d.ID+"/live?after="+before.Version, coord, nil)
		_ = json.Unmarshal(raw, &l)
		done <- l
	}()
	e.answerRoom(d.Code, 5, 5)
	at5 := <-done
	if at5.Version == before.Version || at5.Questions[0].Answers != 5 || bytes.Contains(at5.Questions[0].Results, []byte(`"withheld":true`)) {
		t.Fatalf("at the fifth answer the feed gave %d answers, results %s", at5.Questions[0].Answers, at5.Questions[0].Results)
	}
	var res5 results
	if err := json.Unmarshal(at5.Questions[0].Results, &res5); err != nil || res5.Responses != 5 || *res5.Questions[0].Mean != 3 {
		t.Fatalf("results at five: %s", at5.Questions[0].Results)
	}
	_, poll5 := e.call(coord, "GET", "/v1/polls/"+at5.Questions[0].PollID+"/results", nil)

	// Two readings of a live result one answer apart are identical.
	e.answerRoom(d.Code, 6, 1)
	at6 := live("")
	if at6.Questions[0].Answers != 6 || !bytes.Equal(at5.Questions[0].Results, at6.Questions[0].Results) {
		t.Fatalf("one answer apart the results differ: %s, then %s", at5.Questions[0].Results, at6.Questions[0].Results)
	}
	if _, poll6 := e.call(coord, "GET", "/v1/polls/"+at6.Questions[0].PollID+"/results", nil); !bytes.Equal(poll5, poll6) {
		t.Fatalf("the poll's results one answer apart differ: %s, then %s", poll5, poll6)
	}

	// The room's feed waiting on the first question answers when the presenter moves.
	roomDone := make(chan roomDeck, 1)
	go func() {
		var rd roomDeck
		_, raw := e.n.Do(t, "GET", "/v1/decks/by-code/"+d.Code+"/current?after="+r.Version, "", nil)
		_ = json.Unmarshal(raw, &rd)
		roomDone <- rd
	}()
	e.must(http.StatusOK, nil, coord, "POST", "/v1/decks/"+d.ID+"/current", map[string]int{"position": 2})
	if moved := <-roomDone; moved.Position != 2 || moved.Question.Question.Kind != "words" {
		t.Fatalf("the room after the move: %+v", moved)
	}
	for i, w := range []string{"Hopeful", "tired", "hopeful!", "curious", "hopeful"} {
		e.answerRoom(d.Code, i+1, w)
	}
	words := live("").Questions[2].Results
	if !bytes.Contains(words, []byte(`{"word":"hopeful","count":3`)) {
		t.Fatalf("word cloud %s", words)
	}

	// Closing closes every question and tallies every answer, the sixth included.
	var closed liveDeck
	e.must(http.StatusOK, &closed, coord, "POST", "/v1/decks/"+d.ID+"/close", nil)
	var final results
	if err := json.Unmarshal(closed.Questions[0].Results, &final); err != nil || final.Responses != 6 || closed.Status != "closed" {
		t.Fatalf("final tally %s, deck %s", closed.Questions[0].Results, closed.Status)
	}
	for _, q := range closed.Questions {
		if q.Status != "closed" {
			t.Errorf("question %s is %s after the deck closed", q.PollID, q.Status)
		}
	}
	if !bytes.Contains(closed.Questions[1].Results, []byte(`"reason":"below_minimum"`)) {
		t.Errorf("an unanswered ranking shows %s", closed.Questions[1].Results)
	}
	e.problem(http.StatusConflict, coord, "POST", "/v1/decks/"+d.ID+"/close", nil)
	e.problem(http.StatusConflict, coord, "POST", "/v1/decks/"+d.ID+"/current", map[string]int{"position": 0})
	if r := e.room(d.Code, ""); r.Status != "closed" || r.Question != nil {
		t.Errorf("the room after close: %+v", r)
	}
	e.awaitEvent("results_published", closed.Questions[0].PollID)
}

// TestPollLiveShowsAnOpenPollAlone: an open poll shown alone has the presenter's feed too
// (withheld below its threshold, then in steps); a members' poll has none.
func TestPollLiveShowsAnOpenPollAlone(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	coord := e.coordinator("cop-a")
	p := e.createPoll(choicePoll("cop-a", "audience", "open"))
	live := func() liveDeck {
		t.Helper()
		var l liveDeck
		e.must(http.StatusOK, &l, coord, "GET", "/v1/polls/"+p.ID+"/live", nil)
		return l
	}
	var at []json.RawMessage
	for i := 1; i <= 6; i++ {
		e.must(http.StatusCreated, nil, "", "POST", "/v1/polls/by-code/"+p.Code+"/responses",
			map[string]any{"device_token": fmt.Sprintf("device-token-of-phone-%02d", i), "answer": []string{"data", "funding"}[i%2]})
		l := live()
		if l.Code != p.Code || len(l.Questions) != 1 || l.Questions[0].Answers != i {
			t.Fatalf("after %d answers: %+v", i, l)
		}
		at = append(at, l.Questions[0].Results)
	}
	if !bytes.Contains(at[3], []byte(`"withheld":true`)) || bytes.Contains(at[4], []byte(`"withheld":true`)) || !bytes.Equal(at[4], at[5]) {
		t.Errorf("live results at 4, 5, 6 answers: %s, %s, %s", at[3], at[4], at[5])
	}
	members := e.createPoll(choicePoll("cop-a"))
	e.problem(http.StatusConflict, coord, "GET", "/v1/polls/"+members.ID+"/live", nil)
	e.must(http.StatusOK, nil, coord, "POST", "/v1/polls/"+p.ID+"/close", nil)
	if l := live(); l.Status != "closed" || l.Questions[0].Status != "closed" {
		t.Errorf("after the close: %+v", l)
	}
}
