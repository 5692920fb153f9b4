package feedback_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/feedback"
	"github.com/copnet/copnet/services/feedback/domain"
	"github.com/copnet/copnet/services/feedback/internal/adapters"
	"github.com/copnet/copnet/services/feedback/internal/app"
	"github.com/copnet/copnet/services/feedback/migrations"
)

// TestLiveResultsMoveInStepsOfTheMinimum: an open poll's live results at k and k+1
// answers are byte for byte the same (reading twice reveals nothing about one answer);
// at 2k they change.
func TestLiveResultsMoveInStepsOfTheMinimum(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	p := e.createPoll(map[string]any{"cop_id": "cop-a", "kind": "choice", "question": "Which?",
		"options": []string{"funding", "data"}, "audience": "open", "min_responses": 3})
	answer := func(i int, choice string) {
		e.must(http.StatusCreated, nil, "", "POST", "/v1/polls/by-code/"+p.Code+"/responses",
			map[string]any{"device_token": fmt.Sprintf("device-token-%04d", i), "answer": choice})
	}
	read := func() []byte {
		status, raw := e.call(e.national(), "GET", "/v1/polls/"+p.ID+"/results", nil)
		if status != http.StatusOK {
			t.Fatalf("results: %d %s", status, raw)
		}
		return raw
	}
	answer(1, "funding")
	answer(2, "data")
	below := read()
	answer(3, "data")
	atK := read()
	answer(4, "funding")
	if atK1 := read(); !bytes.Equal(atK, atK1) {
		t.Errorf("results at k and k+1 answers differ: the k+1st answer shows\n%s\n%s", atK, atK1)
	}
	if bytes.Equal(below, atK) {
		t.Errorf("results below k equal results at k: %s", atK)
	}
	answer(5, "funding")
	if at5 := read(); !bytes.Equal(atK, at5) {
		t.Errorf("results at k and 2k-1 answers differ")
	}
	answer(6, "funding")
	var r results
	at2K := read()
	if bytes.Equal(atK, at2K) {
		t.Errorf("results at 2k equal those at k: %s", at2K)
	}
	if err := json.Unmarshal(at2K, &r); err != nil || r.Responses != 6 || r.Questions[0].Counts["funding"] != 4 {
		t.Errorf("results at 2k %s (%v)", at2K, err)
	}
	// The close counts every answer, the remainder too.
	answer(7, "data")
	e.must(http.StatusOK, nil, e.national(), "POST", "/v1/polls/"+p.ID+"/close", nil)
	if err := json.Unmarshal(read(), &r); err != nil || r.Responses != 7 {
		t.Errorf("closed results count %d answers, want 7 (%v)", r.Responses, err)
	}
}

// TestAcceptedAnswersSurviveARestart: answers are committed sealed when accepted, so a
// node stopped before the poll closes loses none of them; a node started again on the
// same database (and the same node secret) opens and counts them all at close.
func TestAcceptedAnswersSurviveARestart(t *testing.T) {
	dbURL, nats := testkit.PostgresURL(t), testkit.NATS(t)
	clock := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	boot := func(t *testing.T) *env {
		n := testkit.StartNode(t, testkit.NodeOptions{Now: clock.Now, DatabaseURL: dbURL, NATS: nats}, feedback.Factory)
		return &env{t: t, n: n, clock: clock}
	}
	var pollID string
	members := persons("crash", 5)
	t.Run("accept, then stop", func(t *testing.T) {
		e := boot(t)
		e.approve("cop-a", "vic")
		e.join("cop-a", "vic", members...)
		pollID = e.createPoll(choicePoll("cop-a")).ID
		for _, m := range members {
			e.vote(pollID, m, "data")
		}
	}) // the node stops here, with the poll open
	e := boot(t)
	if n := e.count(`SELECT count(*) FROM sealed_responses WHERE poll_id = $1`, pollID); n != len(members) {
		t.Fatalf("%d sealed answers after the restart, want %d", n, len(members))
	}
	e.must(http.StatusOK, nil, e.national(), "POST", "/v1/polls/"+pollID+"/close", nil)
	var r results
	e.must(http.StatusOK, &r, e.national(), "GET", "/v1/polls/"+pollID+"/results", nil)
	if r.Withheld || r.Responses != len(members) || r.Questions[0].Counts["data"] != len(members) {
		t.Errorf("results after restart and close: %+v", r)
	}
	if n := e.count(`SELECT count(*) FROM sealed_responses`); n != 0 {
		t.Errorf("%d sealed answers left after close", n)
	}
}

// TestScaleBoundsThatOverflowAreRefused is issue 13's attack: a scale whose span
// overflows int64 was accepted, and reading its results grew the process to 3 GB.
func TestScaleBoundsThatOverflowAreRefused(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-a", "vic")
	body := `{"cop_id":"cop-a","kind":"scale","question":"How?","audience":"open",
		"scale":{"min":-4611686018427387904,"max":4611686018427387904}}`
	if f := e.problem(http.StatusBadRequest, e.national(), "POST", "/v1/polls", body); !slices.Equal(f, []string{"scale.min", "scale.max"}) {
		t.Errorf("overflowing scale names %v, want scale.min and scale.max", f)
	}
	if f := e.problem(http.StatusBadRequest, e.national(), "POST", "/v1/polls",
		map[string]any{"cop_id": "cop-a", "kind": "scale", "question": "How?", "scale": map[string]int{"min": 0, "max": 11}}); !slices.Equal(f, []string{"scale.max"}) {
		t.Errorf("a scale of 12 points names %v", f)
	}
}

// TestMembershipProjectionIsOrderIndependent: join, leave and re-join reach feedback
// through two durable consumers, so they may be applied in any order and redelivered. In
// every order, the projection ends as the latest event says; and after person_erased no
// late membership event writes the erased id back.
func TestMembershipProjectionIsOrderIndependent(t *testing.T) {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, testkit.PostgresURL(t), "feedback")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool, migrations.FS); err != nil {
		t.Fatal(err)
	}
	keys, err := domain.NewKeys([]byte("order-test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	repo := adapters.NewRepository(pool, nil, keys)
	a := app.New(repo, keys, time.Now)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	type step func(tx pgx.Tx, person string) error
	joined := func(at time.Duration) step {
		return func(tx pgx.Tx, person string) error {
			return a.OnMemberJoined(postgres.WithTx(ctx, tx), events.MemberJoined{CoPID: "cop-a", Region: "vic", PersonID: person}, events.Envelope{Time: t0.Add(at * time.Minute)})
		}
	}
	left := func(at time.Duration) step {
		return func(tx pgx.Tx, person string) error {
			return a.OnMemberLeft(postgres.WithTx(ctx, tx), events.MemberLeft{CoPID: "cop-a", Region: "vic", PersonID: person, Reason: "left"}, events.Envelope{Time: t0.Add(at * time.Minute)})
		}
	}
	apply := func(person string, steps ...step) {
		t.Helper()
		for _, s := range steps {
			if err := postgres.Tx(ctx, pool, func(tx pgx.Tx) error { return s(tx, person) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	member := func(person string) bool {
		ok, err := repo.IsMember(ctx, "cop-a", person)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, c := range []struct {
		name  string
		steps []step
		want  bool
	}{
		{"join, leave, re-join", []step{joined(1), left(2), joined(3)}, true},
		{"join, leave", []step{joined(1), left(2)}, false},
		{"join, leave, re-join, leave", []step{joined(1), left(2), joined(3), left(4)}, false},
	} {
		for i, order := range permutations(len(c.steps)) {
			person := fmt.Sprintf("p-%s-%d", c.name, i)
			var steps []step
			for _, k := range order {
				steps = append(steps, c.steps[k])
			}
			// Each event again at the end, as a redelivery would bring it.
			apply(person, append(steps, steps...)...)
			if got := member(person); got != c.want {
				t.Errorf("%s applied in order %v: member = %v, want %v", c.name, order, got, c.want)
			}
		}
	}

	// Erasure: late joins and leaves of the erased person write nothing.
	apply("erased-1", joined(1))
	if err := postgres.Tx(ctx, pool, func(tx pgx.Tx) error {
		return a.OnPersonErased(postgres.WithTx(ctx, tx), events.PersonErased{PersonID: "erased-1"}, events.Envelope{Time: t0.Add(5 * time.Minute)})
	}); err != nil {
		t.Fatal(err)
	}
	apply("erased-1", joined(6), left(7), joined(8))
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM members WHERE person_id = 'erased-1'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows name the erased person after late membership events (%v)", n, err)
	}
}

// permutations lists every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(slices.Clone(p[:i]), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}
