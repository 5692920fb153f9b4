package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// application is a CoP as its applicant and hub see it (the fields these tests read).
type application struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Region           string `json:"region"`
	Status           string `json:"status"`
	Purpose          string `json:"purpose"`
	ApplicantID      string `json:"applicant_id"`
	Round            int    `json:"round"`
	ChangesRequested string `json:"changes_requested"`
	Contact          *struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"contact"`
	Meeting struct {
		When   string   `json:"when"`
		Format []string `json:"format"`
	} `json:"meeting"`
}

// applicationBody is a complete application of a group in region.
func applicationBody(region, name, purpose string) string {
	b, _ := json.Marshal(map[string]any{
		"name": name, "region": region, "scope": "local", "purpose": purpose,
		"topics": []string{"Carers"}, "host_organisations": []string{"Carers Victoria", "Western Health"},
		"meeting": map[string]any{"frequency": "monthly", "when": "second Tuesday, 10:00", "duration_minutes": 90,
			"format": []string{"Share", "Discuss", "Apply"}},
		"contact": map[string]any{"name": "Mia Tran", "email": "mia@example.org", "role": "Carer peer worker"},
	})
	return string(b)
}

// TestApplicationRoundTrip is the onboarding of an application through the API: a person
// without grants applies, the vic hub asks for changes, the applicant edits and resubmits,
// the hub approves; each illegal step on the way is a 409, each step by the wrong person a
// 403 or 404, and each step is an event carrying the applicant's id and no contact.
func TestApplicationRoundTrip(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	e.createRegion("wa")
	applicant := e.tk.Member(t, "applicant-1")
	stranger := e.tk.Member(t, "stranger-1")

	var a application
	e.must(http.StatusCreated, &a, applicant, "POST", "/v1/applications", applicationBody("vic", "Western carers", "Carers share."))
	if a.Status != "proposed" || a.ApplicantID != "applicant-1" || a.Round != 1 || a.Contact == nil || a.Contact.Email != "mia@example.org" {
		t.Fatalf("application = %+v, want proposed round 1 by applicant-1 with its contact", a)
	}
	if a.Meeting.When != "second Tuesday, 10:00" || !slices.Equal(a.Meeting.Format, []string{"Share", "Discuss", "Apply"}) {
		t.Errorf("meeting = %+v, want the co-designed format and time", a.Meeting)
	}
	path := "/v1/cops/" + a.ID
	apps := "/v1/applications/" + a.ID

	// The applicant sees their application; a stranger does not know it exists; the hub
	// sees it with the contact; the vic hub's queue lists it.
	var seen application
	e.must(http.StatusOK, &seen, applicant, "GET", path, "")
	e.do(stranger, "GET", path, "").problem(t, http.StatusNotFound)
	e.must(http.StatusOK, &seen, e.hub("vic"), "GET", path, "")
	if seen.Contact == nil || seen.Purpose != "Carers share." {
		t.Errorf("the hub sees %+v, want the whole proposal with its contact", seen)
	}
	var mine struct {
		Applications []application `json:"applications"`
	}
	e.must(http.StatusOK, &mine, applicant, "GET", "/v1/applications", "")
	if len(mine.Applications) != 1 || mine.Applications[0].ID != a.ID {
		t.Errorf("the applicant's applications = %+v, want theirs", mine.Applications)
	}
	e.must(http.StatusOK, &mine, stranger, "GET", "/v1/applications", "")
	if len(mine.Applications) != 0 {
		t.Errorf("a stranger's applications = %+v, want none", mine.Applications)
	}

	// Editing before the hub asks is a conflict; the applicant cannot decide on their own.
	e.do(applicant, "PUT", apps, applicationBody("", "Western carers", "Edited early.")).problem(t, http.StatusConflict)
	e.do(applicant, "POST", path+"/decision", `{"decision":"approve"}`).problem(t, http.StatusForbidden)

	// Asking for changes needs a reason, and the hub of another region may not.
	if p := e.do(e.hub("vic"), "POST", path+"/decision", `{"decision":"request_changes"}`).problem(t, http.StatusBadRequest); !slices.Contains(p.fields(), "reason") {
		t.Errorf("request_changes without a reason names %v, want reason", p.fields())
	}
	e.do(e.hub("wa"), "POST", path+"/decision", `{"decision":"request_changes","reason":"no"}`).problem(t, http.StatusForbidden)
	var asked application
	e.must(http.StatusOK, &asked, e.hub("vic"), "POST", path+"/decision", `{"decision":"request_changes","reason":"Say who facilitates."}`)
	if asked.Status != "changes_requested" || asked.ChangesRequested != "Say who facilitates." {
		t.Fatalf("after asking for changes: %+v", asked)
	}
	// While changes are asked, approving and asking again are conflicts.
	e.do(e.hub("vic"), "POST", path+"/decision", `{"decision":"approve"}`).problem(t, http.StatusConflict)
	e.do(e.hub("vic"), "POST", path+"/decision", `{"decision":"request_changes","reason":"again"}`).problem(t, http.StatusConflict)

	// Only the applicant edits: the hub is told so, a stranger learns nothing.
	edit := applicationBody("", "Western carers network", "Carers share; Mia facilitates.")
	e.do(e.hub("vic"), "PUT", apps, edit).problem(t, http.StatusForbidden)
	e.do(stranger, "PUT", apps, edit).problem(t, http.StatusNotFound)
	e.do(applicant, "PUT", apps, applicationBody("wa", "Western carers", "Moved.")).problem(t, http.StatusUnprocessableEntity)
	if p := e.do(applicant, "PUT", apps, strings.Replace(edit, "mia@example.org", "not an address", 1)).problem(t, http.StatusBadRequest); !slices.Equal(p.fields(), []string{"contact.email"}) {
		t.Errorf("a bad contact e-mail names %v, want [contact.email]", p.fields())
	}
	var again application
	e.must(http.StatusOK, &again, applicant, "PUT", apps, edit)
	if again.Status != "proposed" || again.Round != 2 || again.Name != "Western carers network" || again.Purpose != "Carers share; Mia facilitates." {
		t.Fatalf("resubmitted = %+v, want proposed round 2 with the edit", again)
	}
	// Once resubmitted, it cannot be resubmitted again until the hub asks.
	e.do(applicant, "PUT", apps, edit).problem(t, http.StatusConflict)

	var approved application
	e.must(http.StatusOK, &approved, e.hub("vic"), "POST", path+"/decision", `{"decision":"approve","reason":"Thank you"}`)
	if approved.Status != "approved" {
		t.Fatalf("approved = %+v", approved)
	}
	e.do(e.hub("vic"), "POST", path+"/decision", `{"decision":"request_changes","reason":"late"}`).problem(t, http.StatusConflict)
	e.do(applicant, "PUT", apps, edit).problem(t, http.StatusConflict)

	// A running CoP is in the directory, but its applicant and contact are not.
	var listed application
	e.must(http.StatusOK, &listed, stranger, "GET", path, "")
	if listed.Contact != nil || listed.ApplicantID != "" {
		t.Errorf("a stranger sees the running CoP as %+v, want no applicant or contact", listed)
	}

	// Every step is an event with the ids notify needs, and none carries the contact.
	want := []string{"cop_proposed", "cop_changes_requested", "cop_resubmitted", "cop_approved"}
	testkit.Eventually(t, waitFor, func() error {
		evs, err := e.streamEvents()
		if err != nil {
			return err
		}
		var got []event
		for _, ev := range evs {
			if strings.Contains(ev.subject, ".cop_") {
				got = append(got, ev)
			}
		}
		if len(got) != len(want) {
			return fmt.Errorf("%d CoP events, want %v", len(got), want)
		}
		for i, ev := range got {
			if err := checkEnvelope(ev, want[i]); err != nil {
				return err
			}
			var body map[string]any
			if err := json.Unmarshal(ev.data, &body); err != nil {
				return err
			}
			if body["applicant_id"] != "applicant-1" || body["cop_id"] != a.ID || body["region"] != "vic" {
				return fmt.Errorf("%s = %s, want the cop, region and applicant ids", want[i], ev.data)
			}
			if strings.Contains(string(ev.data), "mia@example.org") || strings.Contains(string(ev.data), "Mia Tran") {
				return fmt.Errorf("%s carries the contact: %s", want[i], ev.data)
			}
		}
		var changes events.CoPChangesRequested
		if err := json.Unmarshal(got[1].data, &changes); err != nil || changes.Reason != "Say who facilitates." || changes.Round != 1 {
			return fmt.Errorf("cop_changes_requested = %s, want the reason and round 1", got[1].data)
		}
		var re events.CoPResubmitted
		if err := json.Unmarshal(got[2].data, &re); err != nil || re.Round != 2 || re.Name != "Western carers network" {
			return fmt.Errorf("cop_resubmitted = %s, want round 2 and the new name", got[2].data)
		}
		return nil
	})
}

// TestDeclineWhileChangesAreAsked: a group that never comes back can still be declined, and
// a hub's own proposal has no applicant to ask for changes.
func TestDeclineWhileChangesAreAsked(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	applicant := e.tk.Member(t, "applicant-2")
	var a application
	e.must(http.StatusCreated, &a, applicant, "POST", "/v1/applications", applicationBody("vic", "Quiet group", "We meet."))
	path := "/v1/cops/" + a.ID
	e.must(http.StatusOK, nil, e.hub("vic"), "POST", path+"/decision", `{"decision":"request_changes","reason":"More detail please."}`)
	var declined application
	e.must(http.StatusOK, &declined, e.hub("vic"), "POST", path+"/decision", `{"decision":"decline","reason":"No reply in three months."}`)
	if declined.Status != "declined" {
		t.Fatalf("declined = %+v", declined)
	}
	e.do(applicant, "PUT", "/v1/applications/"+a.ID, applicationBody("", "Quiet group", "Late.")).problem(t, http.StatusConflict)

	own := e.propose("vic", "Hub's own")
	e.do(e.hub("vic"), "POST", "/v1/cops/"+own.ID+"/decision", `{"decision":"request_changes","reason":"x"}`).problem(t, http.StatusConflict)
}

// TestApplicationInputIsChecked: a missing contact, an unknown region and no token.
func TestApplicationInputIsChecked(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	applicant := e.tk.Member(t, "applicant-3")
	var body map[string]any
	_ = json.Unmarshal([]byte(applicationBody("vic", "G", "P")), &body)
	delete(body, "contact")
	raw, _ := json.Marshal(body)
	if p := e.do(applicant, "POST", "/v1/applications", string(raw)).problem(t, http.StatusBadRequest); !slices.Contains(p.fields(), "contact.name") || !slices.Contains(p.fields(), "contact.email") {
		t.Errorf("no contact names %v, want contact.name and contact.email", p.fields())
	}
	e.do(applicant, "POST", "/v1/applications", applicationBody("nowhere", "G", "P")).problem(t, http.StatusUnprocessableEntity)
	e.do("", "POST", "/v1/applications", applicationBody("vic", "G", "P")).problem(t, http.StatusUnauthorized)
	e.do("", "GET", "/v1/applications", "").problem(t, http.StatusUnauthorized)
}

// TestErasureScrubsTheApplicant: once the applicant is erased, their id and the contact
// details are gone from the registry's rows; the CoP stays.
func TestErasureScrubsTheApplicant(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	applicant := e.tk.Member(t, "applicant-4")
	var a application
	e.must(http.StatusCreated, &a, applicant, "POST", "/v1/applications", applicationBody("vic", "Erased group", "We meet."))
	e.tk.Publish(t, events.PersonErased{PersonID: "applicant-4"})
	conn := e.pgConn()
	testkit.Eventually(t, waitFor, func() error {
		var who, contact string
		err := conn.QueryRow(context.Background(), `SELECT applicant_id, contact::text FROM registry.cops WHERE id = $1`, a.ID).Scan(&who, &contact)
		if err != nil {
			return err
		}
		if who != "" || strings.Contains(contact, "Mia") {
			return fmt.Errorf("after erasure the row keeps applicant %q and contact %s", who, contact)
		}
		return nil
	})
	var seen application
	e.must(http.StatusOK, &seen, e.hub("vic"), "GET", "/v1/cops/"+a.ID, "")
	if seen.Contact != nil || seen.Name != "Erased group" {
		t.Errorf("after erasure the hub sees %+v, want the CoP without its contact", seen)
	}
}
