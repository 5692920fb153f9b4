package registry_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// TestConcurrentApprovalsDecideOnce sends two approvals of one proposal at the same time:
// exactly one wins (200), the other is told it lost (409), and exactly one cop_approved
// leaves the outbox.
//
// Two requests racing freely usually do not overlap in the window that matters, so the
// test makes them overlap: it holds the CoP's row lock while both requests start, waits
// until PostgreSQL reports both blocked on a lock, then lets go. Under the repository's
// SELECT ... FOR UPDATE the second one then reads the first one's result; a repository
// that read the row without the lock would have read "proposed" in both and both would win.
func TestConcurrentApprovalsDecideOnce(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	c := e.propose("vic", "Youth mental health")

	release := e.lockCoP(c.ID)

	results := make(chan *response, 2)
	for _, tok := range []string{e.hub("vic"), e.national()} {
		go func() {
			results <- e.doAsync(tok, "POST", "/v1/cops/"+c.ID+"/decision", `{"decision":"approve"}`)
		}()
	}
	e.awaitLockWaiters(2)
	release()

	var statuses []int
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("approval: %v", r.err)
		}
		statuses = append(statuses, r.status)
		if r.status == http.StatusConflict {
			r.problem(t, http.StatusConflict)
		}
	}
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{http.StatusOK, http.StatusConflict}) {
		t.Fatalf("concurrent approvals answered %v, want one 200 and one 409", statuses)
	}

	if n := e.outboxTypes()["registry.cop_approved.v1"]; n != 1 {
		t.Fatalf("the outbox holds %d cop_approved events, want 1", n)
	}
	// And the stream, once the forwarder has caught up with the outbox, holds that one.
	testkit.Eventually(t, waitFor, func() error {
		evs, err := e.streamEvents()
		if err != nil {
			return err
		}
		if len(evs) != 3 { // region_created, cop_proposed, cop_approved
			return fmt.Errorf("stream holds %d events, want 3", len(evs))
		}
		var approvals []string
		for _, ev := range evs {
			if ev.header[events.HeaderType] != "registry.cop_approved.v1" {
				continue
			}
			var p events.CoPApproved
			if err := json.Unmarshal(ev.data, &p); err != nil {
				return err
			}
			approvals = append(approvals, p.CoPID)
		}
		if !slices.Equal(approvals, []string{c.ID}) {
			return fmt.Errorf("stream approvals %v, want exactly [%s]", approvals, c.ID)
		}
		return nil
	})
	var got cop
	e.must(http.StatusOK, &got, e.national(), "GET", "/v1/cops/"+c.ID, "")
	if got.Status != "approved" {
		t.Errorf("CoP ends %s, want approved", got.Status)
	}
}

// TestConcurrentCharterPublicationsGetDistinctVersions publishes a charter from two
// callers at once, held at the row lock like the approvals above: both succeed, with
// versions 1 and 2, and each version is stored once.
func TestConcurrentCharterPublicationsGetDistinctVersions(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	c := e.propose("vic", "Youth mental health")
	e.decide(c.ID, "approve")

	release := e.lockCoP(c.ID)
	results := make(chan *response, 2)
	for i, tok := range []string{e.hub("vic"), e.coordinator(c.ID)} {
		go func() {
			results <- e.doAsync(tok, "PUT", "/v1/cops/"+c.ID+"/charter", fmt.Sprintf(charterBody, i+1))
		}()
	}
	e.awaitLockWaiters(2)
	release()
	var versions []int
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("publication: %v", r.err)
		}
		if r.status != http.StatusOK {
			t.Fatalf("%s: want 200", r)
		}
		var ch charter
		r.decode(t, &ch)
		versions = append(versions, ch.Version)
	}
	slices.Sort(versions)
	if !slices.Equal(versions, []int{1, 2}) {
		t.Fatalf("concurrent publications got versions %v, want 1 and 2", versions)
	}
	if n := e.outboxTypes()["registry.charter_published.v1"]; n != 2 {
		t.Fatalf("the outbox holds %d charter_published events, want 2", n)
	}
	var got cop
	e.must(http.StatusOK, &got, e.national(), "GET", "/v1/cops/"+c.ID, "")
	if got.CharterVersion != 2 {
		t.Errorf("CoP's charter_version is %d, want 2", got.CharterVersion)
	}
}
