package feedback_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/feedback/internal/ports"
)

// The callers every route is tried with. "Own" and "other" are relative to the CoP the
// request is about (cop-own, region vic); cop-other is in the same region, so a rule that
// looked at the region instead of the CoP would let its coordinator through.
const (
	anonymous   = "anonymous"
	national    = "national"
	hubOwn      = "hub of its region"
	hubOther    = "hub of another region"
	coordOwn    = "coordinator of this CoP"
	coordOther  = "coordinator of another CoP"
	memberOwn   = "member of this CoP"
	memberOther = "member of another CoP"
)

var callers = []string{anonymous, national, hubOwn, hubOther, coordOwn, coordOther, memberOwn, memberOther}

// allowedFor: anonymous callers get 401, the listed callers ok, everyone else 403.
func allowedFor(ok int, allowed ...string) map[string]int {
	want := map[string]int{anonymous: http.StatusUnauthorized}
	for _, c := range callers[1:] {
		want[c] = http.StatusForbidden
	}
	for _, c := range allowed {
		want[c] = ok
	}
	return want
}

// everyone: the route needs no identity at all.
func everyone(ok int) map[string]int {
	want := map[string]int{}
	for _, c := range callers {
		want[c] = ok
	}
	return want
}

var (
	managers = []string{national, hubOwn, coordOwn}
	seers    = []string{national, hubOwn, coordOwn, memberOwn}
)

// accessCase is one request in one state, and the status each caller must get. state is
// what the request needs: "poll" (a members' poll of cop-own), "ballot" (that and a
// ballot of memberOwn), "open" (an open poll), "session" (an evaluation), or "".
type accessCase struct {
	state, path, body string
	want              map[string]int
}

// accessTable is the feedback service's authorisation rules, keyed by the route as
// Routes() lists it, so a new route cannot go untested.
var accessTable = map[string]accessCase{
	"POST /v1/polls":                          {"", "/v1/polls", `{"cop_id":"cop-own","kind":"words","question":"One word?"}`, allowedFor(http.StatusCreated, managers...)},
	"GET /v1/polls/{id}":                      {"poll", "/v1/polls/{id}", "", allowedFor(http.StatusOK, seers...)},
	"POST /v1/polls/{id}/ballots":             {"poll", "/v1/polls/{id}/ballots", "", allowedFor(http.StatusCreated, memberOwn)},
	"POST /v1/polls/{id}/responses":           {"ballot", "/v1/polls/{id}/responses", `{"ballot":"{ballot}","answer":"data"}`, everyone(http.StatusCreated)},
	"POST /v1/polls/{id}/close":               {"poll", "/v1/polls/{id}/close", "", allowedFor(http.StatusOK, managers...)},
	"GET /v1/polls/{id}/results":              {"poll", "/v1/polls/{id}/results", "", allowedFor(http.StatusOK, seers...)},
	"GET /v1/polls/by-code/{code}/question":   {"open", "/v1/polls/by-code/{code}/question", "", everyone(http.StatusOK)},
	"POST /v1/polls/by-code/{code}/responses": {"open", "/v1/polls/by-code/{code}/responses", `{"device_token":"{device}","answer":"data"}`, everyone(http.StatusCreated)},
	"GET /v1/cops/{id}/polls":                 {"", "/v1/cops/cop-own/polls", "", allowedFor(http.StatusOK, seers...)},
	"GET /v1/sessions/{id}/evaluation":        {"session", "/v1/sessions/sess-own/evaluation", "", allowedFor(http.StatusOK, seers...)},
	"GET /v1/cops/{id}/confidence":            {"", "/v1/cops/cop-own/confidence", "", allowedFor(http.StatusOK, seers...)},
	"GET /v1/stage-quiz":                      {"", "/v1/stage-quiz", "", allowedFor(http.StatusOK, callers[1:]...)},
	"POST /v1/cops/{id}/stage-assessments":    {"", "/v1/cops/cop-own/stage-assessments", quizAnswers, allowedFor(http.StatusCreated, managers...)},
}

var quizAnswers = `{"answers":{"q1":"a","q2":"b","q3":"c","q4":"c","q5":"c","q6":"c","q7":"c","q8":"c","q9":"c","q10":"c"}}`

// TestEveryRouteChecksRoleAndScope walks every route × every kind of caller, each on fresh
// state, so one caller's request cannot change what the next one sees.
func TestEveryRouteChecksRoleAndScope(t *testing.T) {
	e := start(t, nil)
	e.approve("cop-own", "vic")
	e.approve("cop-other", "vic")
	e.join("cop-own", "vic", "m-own")
	e.join("cop-other", "vic", "m-other")
	e.n.Publish(t, events.SessionHeld{SessionID: "sess-own", CoPID: "cop-own", ProgramID: "p", Number: 1, HeldAt: e.clock.Now(), Topics: []string{}})
	testkit.Eventually(t, waitFor, func() error {
		if e.count(`SELECT count(*) FROM polls WHERE session_id = 'sess-own'`) != 1 {
			return fmt.Errorf("no evaluation yet")
		}
		return nil
	})
	tokens := map[string]string{
		anonymous: "", national: e.national(), hubOwn: e.hub("vic"), hubOther: e.hub("wa"),
		coordOwn: e.coordinator("cop-own"), coordOther: e.coordinator("cop-other"),
		memberOwn: e.member("m-own"), memberOther: e.member("m-other"),
	}
	tried := map[string]bool{}
	n := 0
	for _, rt := range ports.NewHTTP(nil).Routes() {
		key := rt.Method + " " + rt.Path
		tc, ok := accessTable[key]
		if !ok {
			t.Errorf("route %s is not in the access table: add the status every caller must get", key)
			continue
		}
		tried[key] = true
		for _, caller := range callers {
			want, ok := tc.want[caller]
			if !ok {
				t.Errorf("%s: no expectation for %s", key, caller)
				continue
			}
			n++
			t.Run(key+"/"+caller, func(t *testing.T) {
				e := e.in(t)
				vars := e.state(tc.state)
				vars["{device}"] = fmt.Sprintf("access-device-%06d", n)
				path, body := tc.path, tc.body
				for k, v := range vars {
					path, body = strings.ReplaceAll(path, k, v), strings.ReplaceAll(body, k, v)
				}
				var payload any
				if body != "" {
					payload = body
				}
				status, raw := e.call(tokens[caller], rt.Method, path, payload)
				if status != want {
					t.Fatalf("%s %s as %s → %d %s, want %d", rt.Method, path, caller, status, raw, want)
				}
				if want >= 400 {
					var p struct{ Status int }
					if json.Unmarshal(raw, &p) != nil || p.Status != want {
						t.Errorf("%s: not a problem document: %s", caller, raw)
					}
				}
			})
		}
	}
	for key := range accessTable {
		if !tried[key] {
			t.Errorf("the access table has %s, which the service does not serve", key)
		}
	}
}

// state makes what a case needs and returns the placeholders to fill in.
func (e *env) state(state string) map[string]string {
	e.t.Helper()
	vars := map[string]string{}
	switch state {
	case "poll", "ballot":
		p := e.createPoll(choicePoll("cop-own"))
		vars["{id}"] = p.ID
		if state == "ballot" {
			vars["{ballot}"] = e.ballot(p.ID, "m-own")
		}
	case "open":
		p := e.createPoll(choicePoll("cop-own", "audience", "open"))
		vars["{id}"], vars["{code}"] = p.ID, p.Code
	}
	return vars
}
