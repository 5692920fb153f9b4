package membership_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/registry"
)

// TestACoPBecomesJoinableOnlyThroughTheRegistrysEvent runs the real registry beside
// membership: joining fails until cop_approved has reached membership, and the Code of
// Practice that must be accepted is the one charter_published last announced.
func TestACoPBecomesJoinableOnlyThroughTheRegistrysEvent(t *testing.T) {
	e := start(t, registry.Factory)
	e.must(http.StatusCreated, nil, e.national(), "POST", "/v1/regions", `{"id":"vic","name":"Victoria"}`)
	var cop struct{ ID string }
	e.must(http.StatusCreated, &cop, e.national(), "POST", "/v1/cops", `{"name":"Youth mental health","region":"vic",
		"scope":"regional","purpose":"Share what works.","topics":["youth"],"host_organisations":["Orygen"],
		"meeting":{"frequency":"monthly","duration_minutes":90}}`)
	charter := `{"aims":"Aims","terms_of_reference":"We meet monthly.","code_of_practice":"Be kind, version %d."}`
	e.must(http.StatusOK, nil, e.national(), "PUT", "/v1/cops/"+cop.ID+"/charter", fmt.Sprintf(charter, 1))
	aroha := e.register("Aroha Smith", "aroha@example.org")
	join := fmt.Sprintf(`{"person_id":%q,"code_of_practice_version":1}`, aroha)

	// Proposed, not approved: not joinable, whoever asks.
	e.do(e.person(aroha), "POST", "/v1/cops/"+cop.ID+"/members", join).problem(t, http.StatusConflict)

	e.must(http.StatusOK, nil, e.hub("vic"), "POST", "/v1/cops/"+cop.ID+"/decision", `{"decision":"approve"}`)
	// People join by themselves where the CoP takes online registrations.
	testkit.Eventually(t, waitFor, func() error {
		if r := e.do(e.coordinator(cop.ID), "PUT", "/v1/cops/"+cop.ID+"/registration", `{"open":true}`); r.status != http.StatusOK {
			return fmt.Errorf("%s", r)
		}
		r := e.do(e.person(aroha), "POST", "/v1/cops/"+cop.ID+"/members", join)
		if r.status != http.StatusCreated {
			return fmt.Errorf("%s", r)
		}
		return nil
	})
	joined := awaitEvent(e, "member_joined", func(ev events.MemberJoined) bool { return ev.PersonID == aroha })
	if joined.CoPID != cop.ID || joined.Region != "vic" || joined.CodeOfPracticeVersion != 1 {
		t.Errorf("member_joined = %+v", joined)
	}
	// A second join is a conflict, not a second membership.
	e.do(e.person(aroha), "POST", "/v1/cops/"+cop.ID+"/members", join).problem(t, http.StatusConflict)

	// A new Code of Practice: joining under the old one is refused, naming the current one.
	e.must(http.StatusOK, nil, e.national(), "PUT", "/v1/cops/"+cop.ID+"/charter", fmt.Sprintf(charter, 2))
	ben := e.register("Ben Li", "ben@example.org")
	old := fmt.Sprintf(`{"person_id":%q,"code_of_practice_version":1}`, ben)
	testkit.Eventually(t, waitFor, func() error {
		var v int
		err := e.n.Pool("membership").QueryRow(context.Background(),
			"SELECT code_of_practice_version FROM cops WHERE id = $1", cop.ID).Scan(&v)
		if err == nil && v != 2 {
			err = fmt.Errorf("membership knows Code of Practice version %d, want 2", v)
		}
		return err
	})
	p := e.do(e.person(ben), "POST", "/v1/cops/"+cop.ID+"/members", old).problem(t, http.StatusUnprocessableEntity)
	if !slices.Equal(p.fields(), []string{"code_of_practice_version"}) || !strings.Contains(p.Detail, "version 2") {
		t.Errorf("problem %+v: want it to name code_of_practice_version and say version 2 is current", p)
	}
	e.must(http.StatusCreated, nil, e.person(ben), "POST", "/v1/cops/"+cop.ID+"/members",
		fmt.Sprintf(`{"person_id":%q,"code_of_practice_version":2}`, ben))

	// Retiring the CoP in the registry ends every membership here.
	e.must(http.StatusOK, nil, e.national(), "POST", "/v1/cops/"+cop.ID+"/retire", `{"reason":"merged"}`)
	testkit.Eventually(t, waitFor, func() error {
		left := 0
		for _, ev := range published[events.MemberLeft](e, "member_left") {
			if ev.CoPID == cop.ID && ev.Reason == "cop_retired" {
				left++
			}
		}
		if left != 2 {
			return fmt.Errorf("%d member_left cop_retired events, want 2", left)
		}
		return nil
	})
	if m := e.members(cop.ID); len(m) != 0 {
		t.Errorf("a retired CoP still has members %v", m)
	}
	e.do(e.person(aroha), "POST", "/v1/cops/"+cop.ID+"/members",
		fmt.Sprintf(`{"person_id":%q,"code_of_practice_version":2}`, aroha)).problem(t, http.StatusConflict)
}
