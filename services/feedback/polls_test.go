package feedback_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/feedback/domain"
)

// TestBallotsAreSingleUse: one ballot per member, one response per ballot; refusals
// leave nothing behind.
func TestBallotsAreSingleUse(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	e.join("cop-a", "vic", "p-1", "p-2")
	p := e.createPoll(choicePoll("cop-a"))
	path := "/v1/polls/" + p.ID

	b := e.ballot(p.ID, "p-1")
	e.problem(http.StatusConflict, e.member("p-1"), "POST", path+"/ballots", nil) // a second ballot
	e.must(http.StatusCreated, nil, "", "POST", path+"/responses", map[string]any{"ballot": b, "answer": "data"})
	e.problem(http.StatusConflict, "", "POST", path+"/responses", map[string]any{"ballot": b, "answer": "funding"})
	if n := e.count(`SELECT count(*) FROM sealed_responses WHERE poll_id = $1`, p.ID); n != 1 {
		t.Fatalf("%d responses after a double vote, want 1", n)
	}

	// Bad input names its field and spends nothing: the ballot still works afterwards.
	b2 := e.ballot(p.ID, "p-2")
	if f := e.problem(http.StatusBadRequest, "", "POST", path+"/responses", map[string]any{"ballot": b2, "answer": "blockchain"}); !slices.Equal(f, []string{"answer"}) {
		t.Errorf("bad answer names %v", f)
	}
	if f := e.problem(http.StatusBadRequest, "", "POST", path+"/responses", map[string]any{"ballot": b2[:10] + "x", "answer": "data"}); !slices.Equal(f, []string{"ballot"}) {
		t.Errorf("forged ballot names %v", f)
	}
	other := e.createPoll(choicePoll("cop-a"))
	if f := e.problem(http.StatusBadRequest, "", "POST", "/v1/polls/"+other.ID+"/responses", map[string]any{"ballot": b2, "answer": "data"}); !slices.Equal(f, []string{"ballot"}) {
		t.Errorf("another poll's ballot names %v", f)
	}
	e.must(http.StatusCreated, nil, "", "POST", path+"/responses", map[string]any{"ballot": b2, "answer": "consent"})

	// Only members of the CoP take ballots; an open poll takes none.
	e.problem(http.StatusForbidden, e.member("stranger"), "POST", path+"/ballots", nil)
	e.problem(http.StatusForbidden, e.coordinator("cop-a"), "POST", path+"/ballots", nil)
	open := e.createPoll(choicePoll("cop-a", "audience", "open"))
	e.problem(http.StatusConflict, e.member("p-1"), "POST", "/v1/polls/"+open.ID+"/ballots", nil)

	// After closing, neither ballots nor responses are taken.
	e.join("cop-a", "vic", "p-3")
	b3 := e.ballot(p.ID, "p-3")
	e.must(http.StatusOK, nil, e.national(), "POST", path+"/close", nil)
	e.problem(http.StatusConflict, e.national(), "POST", path+"/close", nil)
	e.problem(http.StatusConflict, "", "POST", path+"/responses", map[string]any{"ballot": b3, "answer": "data"})
	e.join("cop-a", "vic", "p-4")
	e.problem(http.StatusConflict, e.member("p-4"), "POST", path+"/ballots", nil)
}

// TestResultsWithheldBelowThreshold: below min_responses the API says withheld and no
// results event is published; at the threshold both appear, with aggregates only.
func TestResultsWithheldBelowThreshold(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	members := persons("thr", 5)
	e.join("cop-a", "vic", members...)
	few := e.createPoll(map[string]any{"cop_id": "cop-a", "kind": "scale", "question": "Confidence?",
		"scale": map[string]any{"min": 1, "max": 5, "labels": map[string]string{"1": "low", "5": "high"}}})
	enough := e.createPoll(map[string]any{"cop_id": "cop-a", "kind": "scale", "question": "Confidence?",
		"scale": map[string]any{"min": 1, "max": 5}})
	for i, m := range members {
		if i < 4 {
			e.vote(few.ID, m, 5)
		}
		e.vote(enough.ID, m, i+1)
	}
	var r results
	e.must(http.StatusOK, &r, e.coordinator("cop-a"), "GET", "/v1/polls/"+enough.ID+"/results", nil)
	if !r.Withheld || r.Reason != "until_closed" || r.Questions != nil {
		t.Errorf("an open members' poll shows %+v", r)
	}
	for _, p := range []poll{few, enough} {
		e.must(http.StatusOK, nil, e.coordinator("cop-a"), "POST", "/v1/polls/"+p.ID+"/close", nil)
	}

	e.must(http.StatusOK, &r, e.coordinator("cop-a"), "GET", "/v1/polls/"+few.ID+"/results", nil)
	if !r.Withheld || r.Reason != "below_minimum" || r.Responses != 0 || r.Questions != nil {
		t.Errorf("4 of 5 responses shows %+v, want withheld and nothing else", r)
	}
	e.awaitEvent("poll_closed", few.ID)
	if n := e.outboxCount("feedback.results_published.v1", few.ID); n != 0 {
		t.Errorf("results of 4 responses were published %d times", n)
	}

	e.must(http.StatusOK, &r, e.member(members[0]), "GET", "/v1/polls/"+enough.ID+"/results", nil)
	if r.Withheld || r.Responses != 5 || *r.Questions[0].Mean != 3 ||
		fmt.Sprint(r.Questions[0].Distribution) != "map[1:1 2:1 3:1 4:1 5:1]" {
		t.Errorf("5 responses show %+v", r)
	}
	ev := e.awaitEvent("results_published", enough.ID)
	res, _ := ev["results"].(map[string]any)
	qs, _ := res["questions"].([]any)
	if ev["responses"] != float64(5) || ev["region"] != "vic" || len(qs) != 1 {
		t.Fatalf("results_published %v", ev)
	}
	if q := qs[0].(map[string]any); q["mean"] != float64(3) || q["distribution"] == nil {
		t.Errorf("published aggregates %v", q)
	}
}

// TestOpenPollByCode: a room answers by code, one response per device, rate-limited.
func TestOpenPollByCode(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	p := e.createPoll(map[string]any{"cop_id": "cop-a", "kind": "ranking", "question": "What should we learn next?",
		"options": []string{"funding", "data", "consent"}, "audience": "open", "min_responses": 3, "purpose": "learning_priorities"})
	var room struct {
		Code      string `json:"code"`
		Questions []any  `json:"questions"`
	}
	e.must(http.StatusOK, &room, "", "GET", "/v1/polls/by-code/"+p.Code+"/question", nil)
	if room.Code != p.Code || len(room.Questions) != 1 {
		t.Fatalf("room view %+v", room)
	}
	path := "/v1/polls/by-code/" + p.Code + "/responses"
	rankings := [][]string{{"data", "funding", "consent"}, {"funding", "data", "consent"}, {"consent", "data", "funding"}}
	for i, rk := range rankings {
		e.must(http.StatusCreated, nil, "", "POST", path, map[string]any{"device_token": fmt.Sprintf("device-token-%08d", i), "answer": rk})
	}
	e.problem(http.StatusConflict, "", "POST", path, map[string]any{"device_token": "device-token-00000000", "answer": rankings[0]})
	if f := e.problem(http.StatusBadRequest, "", "POST", path, map[string]any{"device_token": "short", "answer": rankings[0]}); !slices.Equal(f, []string{"device_token"}) {
		t.Errorf("short token names %v", f)
	}
	e.problem(http.StatusNotFound, "", "POST", "/v1/polls/by-code/NOPE99/responses", map[string]any{"device_token": "device-token-x0000000", "answer": rankings[0]})
	members := e.createPoll(choicePoll("cop-a"))
	e.problem(http.StatusNotFound, "", "GET", "/v1/polls/by-code/"+members.Code+"/question", nil)

	// Open polls show results live once the threshold is met: a Borda count.
	var r results
	e.must(http.StatusOK, &r, e.coordinator("cop-a"), "GET", "/v1/polls/"+p.ID+"/results", nil)
	q := r.Questions[0]
	if r.Withheld || q.Method != "borda" || q.Ranking[0].Option != "data" || q.Ranking[0].Score != 4 {
		t.Errorf("ranking results %+v", r)
	}

	// Flooding from one address is cut off with 429 (60 at once, then 2 a second).
	limited := false
	for i := range 200 {
		s, _ := e.call("", "POST", path, map[string]any{"device_token": fmt.Sprintf("flood-token-%08d", i), "answer": rankings[0]})
		if s == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("200 answers from one address were never rate-limited")
	}
}

// TestCreatePollValidation: every bad field is named, and nothing is written.
func TestCreatePollValidation(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	past := e.clock.Now().Add(-time.Hour)
	f := e.problem(http.StatusBadRequest, e.national(), "POST", "/v1/polls", map[string]any{
		"cop_id": "cop-a", "kind": "choice", "question": "", "options": []string{"only one"},
		"audience": "everyone", "min_responses": 1, "closes_at": past})
	if want := []string{"question", "options", "audience", "min_responses", "closes_at"}; !slices.Equal(f, want) {
		t.Errorf("fields %v, want %v", f, want)
	}
	f = e.problem(http.StatusBadRequest, e.national(), "POST", "/v1/polls", map[string]any{
		"cop_id": "cop-a", "kind": "scale", "question": "How?", "scale": map[string]any{"min": 5, "max": 1}})
	if !slices.Equal(f, []string{"scale.max"}) {
		t.Errorf("bad scale names %v", f)
	}
	e.problem(http.StatusUnprocessableEntity, e.national(), "POST", "/v1/polls", choicePoll("cop-unknown"))
	if n := e.count(`SELECT count(*) FROM polls`); n != 0 {
		t.Errorf("refused polls left %d rows", n)
	}
	if n := e.count(`SELECT count(*) FROM watermill_outbox`); n != 0 {
		t.Errorf("refused polls left %d events", n)
	}
}

// TestPollsCloseOnTime: a poll past closes_at refuses answers at once and is closed (with
// its results published) by the service without anyone asking.
func TestPollsCloseOnTime(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	members := persons("time", 6)
	e.join("cop-a", "vic", members...)
	p := e.createPoll(choicePoll("cop-a", "closes_at", e.clock.Now().Add(time.Hour).Format(time.RFC3339)))
	for _, m := range members[:5] {
		e.vote(p.ID, m, "data")
	}
	late := e.ballot(p.ID, members[5])
	e.clock.Advance(2 * time.Hour)
	e.problem(http.StatusConflict, "", "POST", "/v1/polls/"+p.ID+"/responses", map[string]any{"ballot": late, "answer": "data"})
	e.awaitEvent("poll_closed", p.ID)
	ev := e.awaitEvent("results_published", p.ID)
	if ev["responses"] != float64(5) {
		t.Errorf("results_published %v", ev)
	}
}

// TestErasureScrubsBallotIssuance: person_erased removes the person's memberships and
// ballot issuance records (found by their keyed hash); the responses stay, as they never
// named anyone. Membership events delivered after the erasure do not bring the id back.
func TestErasureScrubsBallotIssuance(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	e.join("cop-a", "vic", "erase-me", "keep-me")
	p := e.createPoll(choicePoll("cop-a"))
	e.vote(p.ID, "erase-me", "data")
	e.vote(p.ID, "keep-me", "data")
	keys, err := domain.NewKeys(e.n.Secret)
	if err != nil {
		t.Fatal(err)
	}
	issued := func(person string) int {
		return e.count(`SELECT count(*) FROM ballots_issued WHERE poll_id = $1 AND issue_hash = $2`, p.ID, keys.IssueHash(p.ID, person))
	}
	if issued("erase-me") != 1 || issued("keep-me") != 1 {
		t.Fatal("issuance is not recorded under the keyed hash of (poll, person)")
	}
	e.n.Publish(t, events.PersonErased{PersonID: "erase-me"})
	testkit.Eventually(t, waitFor, func() error {
		if n := issued("erase-me") + e.count(`SELECT count(*) FROM members WHERE person_id = 'erase-me'`); n != 0 {
			return fmt.Errorf("%d rows still name the erased person", n)
		}
		return nil
	})
	if issued("keep-me") != 1 {
		t.Errorf("erasing one person removed another's issuance record")
	}
	if n := e.count(`SELECT count(*) FROM sealed_responses WHERE poll_id = $1`, p.ID); n != 2 {
		t.Errorf("%d responses after erasure, want 2", n)
	}
	// Late membership events about the erased person, as a redelivery or a slow consumer
	// would bring them, write nothing back.
	e.n.Publish(t, events.MemberJoined{CoPID: "cop-a", Region: "vic", PersonID: "erase-me", CodeOfPracticeVersion: 1},
		events.MemberLeft{CoPID: "cop-a", Region: "vic", PersonID: "erase-me", Reason: "erased"})
	testkit.Eventually(t, waitFor, func() error {
		if n := e.count(`SELECT count(*) FROM processed_events WHERE handler LIKE '%member_joined%' OR handler LIKE '%member_left%'`); n != 4 {
			return fmt.Errorf("%d of 4 membership events processed", n)
		}
		return nil
	})
	if n := e.count(`SELECT count(*) FROM members WHERE person_id = 'erase-me'`); n != 0 {
		t.Errorf("a late membership event re-created %d rows for an erased person", n)
	}
	// member_left: no new ballots.
	e.n.Publish(t, events.MemberLeft{CoPID: "cop-a", Region: "vic", PersonID: "keep-me", Reason: "left"})
	testkit.Eventually(t, waitFor, func() error {
		if e.count(`SELECT count(*) FROM members WHERE person_id = 'keep-me' AND current`) != 0 {
			return fmt.Errorf("member still known")
		}
		return nil
	})
	other := e.createPoll(choicePoll("cop-a"))
	e.problem(http.StatusForbidden, e.member("keep-me"), "POST", "/v1/polls/"+other.ID+"/ballots", nil)
}
