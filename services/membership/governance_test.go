package membership_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

type removal struct {
	ID               string `json:"id"`
	Status           string `json:"status"`
	WorkingGroupSize int    `json:"working_group_size"`
	VotesNeeded      int    `json:"votes_needed"`
	SupportingVotes  int    `json:"supporting_votes"`
	Votes            []struct {
		VoterID string `json:"voter_id"`
		Support bool   `json:"support"`
	} `json:"votes"`
}

// TestRemovalCarriesWith75PercentOfTheWorkingGroup: four working-group members need three
// supporting votes, whoever else abstains; outsiders and the subject cannot vote, nobody
// votes twice, and the carried removal ends the membership.
func TestRemovalCarriesWith75PercentOfTheWorkingGroup(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-a")
	var wg []string
	for i := range 4 {
		id := e.register(fmt.Sprintf("Working %d", i), fmt.Sprintf("wg%d@example.org", i))
		e.join("cop-a", id)
		e.workingGroup("cop-a", id)
		wg = append(wg, id)
	}
	subject := e.register("Sam Subject", "sam@example.org")
	outsider := e.register("Olive Outsider", "olive@example.org")
	e.join("cop-a", subject)
	e.join("cop-a", outsider)

	// Only a working-group member proposes.
	body := fmt.Sprintf(`{"person_id":%q,"reason":"repeated harassment"}`, subject)
	e.do(e.person(outsider), "POST", "/v1/cops/cop-a/removals", body).problem(t, http.StatusForbidden)
	e.do(e.national(), "POST", "/v1/cops/cop-a/removals", body).problem(t, http.StatusForbidden)
	var r removal
	e.must(http.StatusCreated, &r, e.person(wg[0]), "POST", "/v1/cops/cop-a/removals", body)
	if r.Status != "open" || r.WorkingGroupSize != 4 || r.VotesNeeded != 3 {
		t.Fatalf("removal %+v: want open, 4 in the group, 3 votes needed", r)
	}
	e.do(e.person(wg[1]), "POST", "/v1/cops/cop-a/removals", body).problem(t, http.StatusConflict)

	vote := func(voter string, support bool) *response {
		return e.do(e.person(voter), "POST", "/v1/removals/"+r.ID+"/votes", fmt.Sprintf(`{"voter_id":%q,"support":%v}`, voter, support))
	}
	vote(outsider, true).problem(t, http.StatusForbidden)
	vote(subject, false).problem(t, http.StatusForbidden)
	// Voting in someone else's name is refused.
	e.do(e.person(wg[0]), "POST", "/v1/removals/"+r.ID+"/votes", fmt.Sprintf(`{"voter_id":%q,"support":true}`, wg[1])).problem(t, http.StatusForbidden)
	if p := e.do(e.person(wg[0]), "POST", "/v1/removals/"+r.ID+"/votes", fmt.Sprintf(`{"voter_id":%q}`, wg[0])).problem(t, http.StatusBadRequest); !slices.Equal(p.fields(), []string{"support"}) {
		t.Errorf("a vote without support names %v", p.fields())
	}

	for i, voter := range wg[:2] {
		res := vote(voter, true)
		if res.status != http.StatusOK {
			t.Fatalf("%s", res)
		}
		decode(t, res, &r)
		if r.Status != "open" || r.SupportingVotes != i+1 {
			t.Fatalf("after %d votes: %+v, want open", i+1, r)
		}
	}
	vote(wg[0], true).problem(t, http.StatusConflict) // once each
	// A newcomer to the working group was not counted when the removal opened.
	e.workingGroup("cop-a", outsider)
	vote(outsider, true).problem(t, http.StatusForbidden)

	decode(t, vote(wg[2], true), &r)
	if r.Status != "carried" || r.SupportingVotes != 3 || len(r.Votes) != 3 {
		t.Fatalf("after 3 of 4: %+v, want carried with its three votes on record", r)
	}
	if _, still := e.members("cop-a")[subject]; still {
		t.Error("the removed member is still on the roster")
	}
	vote(wg[3], false).problem(t, http.StatusConflict)
	awaitEvent(e, "removal_carried", func(ev events.RemovalCarried) bool {
		return ev.RemovalID == r.ID && ev.SupportingVotes == 3 && ev.WorkingGroupSize == 4
	})
	awaitEvent(e, "member_left", func(ev events.MemberLeft) bool { return ev.PersonID == subject && ev.Reason == "removed" })

	// The audit trail: the electorate and those who run the CoP see every vote.
	var trail removal
	e.must(http.StatusOK, &trail, e.hub("vic"), "GET", "/v1/removals/"+r.ID, "")
	if len(trail.Votes) != 3 {
		t.Errorf("audit trail %+v, want 3 votes", trail)
	}
	e.do(e.hub("wa"), "GET", "/v1/removals/"+r.ID, "").problem(t, http.StatusForbidden)
}

// TestRemovalIsRejectedOnceItCannotCarry: with four in the group, two votes against end it.
func TestRemovalIsRejectedOnceItCannotCarry(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-a")
	var wg []string
	for i := range 4 {
		id := e.register(fmt.Sprintf("Working %d", i), fmt.Sprintf("wg%d@example.org", i))
		e.join("cop-a", id)
		e.workingGroup("cop-a", id)
		wg = append(wg, id)
	}
	subject := e.register("Sam Subject", "sam@example.org")
	e.join("cop-a", subject)
	var r removal
	e.must(http.StatusCreated, &r, e.person(wg[0]), "POST", "/v1/cops/cop-a/removals", fmt.Sprintf(`{"person_id":%q,"reason":"x"}`, subject))
	e.must(http.StatusOK, &r, e.person(wg[1]), "POST", "/v1/removals/"+r.ID+"/votes", fmt.Sprintf(`{"voter_id":%q,"support":false}`, wg[1]))
	if r.Status != "open" {
		t.Fatalf("one against of four: %s, want open", r.Status)
	}
	e.must(http.StatusOK, &r, e.person(wg[2]), "POST", "/v1/removals/"+r.ID+"/votes", fmt.Sprintf(`{"voter_id":%q,"support":false}`, wg[2]))
	if r.Status != "rejected" {
		t.Fatalf("two against of four: %s, want rejected", r.Status)
	}
	awaitEvent(e, "removal_rejected", func(ev events.RemovalRejected) bool { return ev.RemovalID == r.ID })
	if _, ok := e.members("cop-a")[subject]; !ok {
		t.Error("a rejected removal removed the member")
	}
}

type appointment struct {
	ID            string    `json:"id"`
	Status        string    `json:"status"`
	ConsentEndsAt time.Time `json:"consent_ends_at"`
	TermEndsAt    time.Time `json:"term_ends_at"`
}

// TestCoordinatorIsAppointedByConsent: an objection lapses an appointment; a window that
// ends without one appoints the person for a year when next touched, and the previous
// coordinator's term ends.
func TestCoordinatorIsAppointedByConsent(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-a")
	wg := e.register("Wiremu", "wiremu@example.org")
	first := e.register("Fran First", "fran@example.org")
	second := e.register("Sid Second", "sid@example.org")
	plain := e.register("Pat Plain", "pat@example.org")
	for _, p := range []string{wg, first, second, plain} {
		e.join("cop-a", p)
	}
	e.workingGroup("cop-a", wg)

	propose := func(person string) appointment {
		var ap appointment
		e.must(http.StatusCreated, &ap, e.person(wg), "POST", "/v1/cops/cop-a/coordinator-appointments", fmt.Sprintf(`{"person_id":%q}`, person))
		return ap
	}
	ap := propose(first)
	if want := e.clock.Now().Add(7 * 24 * time.Hour); !ap.ConsentEndsAt.Equal(want) {
		t.Errorf("consent ends %s, want 7 days on, %s", ap.ConsentEndsAt, want)
	}
	e.do(e.coordinator("cop-a"), "POST", "/v1/cops/cop-a/coordinator-appointments", fmt.Sprintf(`{"person_id":%q}`, second)).problem(t, http.StatusConflict)
	object := func(by string) *response {
		return e.do(e.person(by), "POST", "/v1/coordinator-appointments/"+ap.ID+"/objections", fmt.Sprintf(`{"person_id":%q,"reason":"not yet"}`, by))
	}
	object(plain).problem(t, http.StatusForbidden) // not in the working group
	res := object(wg)
	decode(t, res, &ap)
	if ap.Status != "lapsed" {
		t.Fatalf("%s: want lapsed", res)
	}

	ap = propose(first)
	e.clock.Advance(7*24*time.Hour - time.Minute)
	e.must(http.StatusOK, &ap, e.person(plain), "GET", "/v1/coordinator-appointments/"+ap.ID, "")
	if ap.Status != "open" {
		t.Fatalf("a minute before the window ends: %s", ap.Status)
	}
	e.clock.Advance(2 * time.Minute)
	object(wg).problem(t, http.StatusConflict) // too late: the window ended, so it settles
	e.must(http.StatusOK, &ap, e.person(plain), "GET", "/v1/coordinator-appointments/"+ap.ID, "")
	if ap.Status != "appointed" || !ap.TermEndsAt.Equal(ap.ConsentEndsAt.Add(365*24*time.Hour)) {
		t.Fatalf("after the window: %+v, want appointed for a year from its end", ap)
	}
	if roles := e.members("cop-a")[first].Roles; !slices.Equal(roles, []string{"coordinator"}) {
		t.Errorf("first's roles %v, want [coordinator]", roles)
	}
	awaitEvent(e, "coordinator_appointed", func(ev events.CoordinatorAppointed) bool {
		return ev.AppointmentID == ap.ID && ev.PersonID == first && ev.PreviousPersonID == ""
	})

	// The next appointment ends the first coordinator's term.
	next := propose(second)
	e.clock.Advance(8 * 24 * time.Hour)
	e.must(http.StatusOK, &next, e.national(), "GET", "/v1/coordinator-appointments/"+next.ID, "")
	roster := e.members("cop-a")
	if !slices.Equal(roster[second].Roles, []string{"coordinator"}) || len(roster[first].Roles) != 0 {
		t.Errorf("roles after the second appointment: first %v, second %v", roster[first].Roles, roster[second].Roles)
	}
	awaitEvent(e, "coordinator_appointed", func(ev events.CoordinatorAppointed) bool {
		return ev.PersonID == second && ev.PreviousPersonID == first
	})
	awaitEvent(e, "role_revoked", func(ev events.RoleRevoked) bool { return ev.PersonID == first && ev.Role == "coordinator" })
}

// TestTheSweepSettlesWindowsNobodyTouches: the periodic sweep in Run appoints without any
// request touching the appointment, on the injected clock.
func TestTheSweepSettlesWindowsNobodyTouches(t *testing.T) {
	t.Setenv("COPNET_MEMBERSHIP_SWEEP_INTERVAL", "20ms")
	t.Setenv("COPNET_MEMBERSHIP_CONSENT_WINDOW", "48h")
	e := start(t)
	e.approve("vic", "cop-a")
	p := e.register("Pia", "pia@example.org")
	e.join("cop-a", p)
	var ap appointment
	e.must(http.StatusCreated, &ap, e.national(), "POST", "/v1/cops/cop-a/coordinator-appointments", fmt.Sprintf(`{"person_id":%q}`, p))
	if want := e.clock.Now().Add(48 * time.Hour); !ap.ConsentEndsAt.Equal(want) {
		t.Errorf("configured window: ends %s, want %s", ap.ConsentEndsAt, want)
	}
	e.clock.Advance(49 * time.Hour)
	awaitEvent(e, "coordinator_appointed", func(ev events.CoordinatorAppointed) bool { return ev.AppointmentID == ap.ID })
	// A year later the sweep ends the term.
	e.clock.Advance(366 * 24 * time.Hour)
	awaitEvent(e, "role_revoked", func(ev events.RoleRevoked) bool { return ev.PersonID == p && ev.Role == "coordinator" })
	testkit.Eventually(t, waitFor, func() error {
		if roles := e.members("cop-a")[p].Roles; len(roles) != 0 {
			return fmt.Errorf("roles %v after the term", roles)
		}
		return nil
	})
}

// TestRemovalsAndAppointmentsNameThePeopleAndAreListed: the pages that show a removal or an
// appointment name the people concerned and who voted or objected, and list a CoP's
// removals (to its working group) and appointments (to its members); the working group
// reads the roster it proposes removals from, and another CoP's members see none of it.
func TestRemovalsAndAppointmentsNameThePeopleAndAreListed(t *testing.T) {
	e := start(t)
	e.approve("wa", "cop-a")
	e.approve("wa", "cop-b")
	ann := e.register("Ann Working", "ann@example.org")
	ben := e.register("Ben Working", "ben@example.org")
	sam := e.register("Sam Subject", "sam@example.org")
	other := e.register("Oli Other", "oli@example.org")
	for _, p := range []string{ann, ben, sam} {
		e.join("cop-a", p)
	}
	e.workingGroup("cop-a", ann)
	e.workingGroup("cop-a", ben)
	e.join("cop-b", other)
	e.workingGroup("cop-b", other)

	var roster struct {
		Members []struct {
			PersonID string `json:"person_id"`
		} `json:"members"`
	}
	e.must(http.StatusOK, &roster, e.person(ben), "GET", "/v1/cops/cop-a/members", "")
	if len(roster.Members) != 3 {
		t.Errorf("the working group reads %d members, want 3", len(roster.Members))
	}
	e.do(e.person(sam), "GET", "/v1/cops/cop-a/members", "").problem(t, http.StatusForbidden)
	e.do(e.person(other), "GET", "/v1/cops/cop-a/members", "").problem(t, http.StatusForbidden)

	type named struct {
		ID             string `json:"id"`
		Status         string `json:"status"`
		PersonName     string `json:"person_name"`
		ProposedByName string `json:"proposed_by_name"`
		Electorate     []struct {
			PersonID string `json:"person_id"`
			Name     string `json:"name"`
			Voted    bool   `json:"voted"`
			Support  *bool  `json:"support"`
		} `json:"electorate"`
	}
	var r named
	e.must(http.StatusCreated, &r, e.person(ann), "POST", "/v1/cops/cop-a/removals", fmt.Sprintf(`{"person_id":%q,"reason":"breaches"}`, sam))
	e.must(http.StatusOK, &r, e.person(ben), "POST", "/v1/removals/"+r.ID+"/votes", fmt.Sprintf(`{"voter_id":%q,"support":true}`, ben))
	if r.PersonName != "Sam Subject" || r.ProposedByName != "Ann Working" || len(r.Electorate) != 2 {
		t.Fatalf("removal %+v: want Sam named, proposed by Ann, two electors", r)
	}
	for _, el := range r.Electorate {
		voted := el.PersonID == ben
		if el.Voted != voted || (voted && (el.Support == nil || !*el.Support)) || el.Name == "" {
			t.Errorf("elector %+v: want named, and voted for removal only when Ben", el)
		}
	}
	var list struct {
		Removals []struct {
			ID         string `json:"id"`
			PersonName string `json:"person_name"`
			Status     string `json:"status"`
		} `json:"removals"`
	}
	e.must(http.StatusOK, &list, e.person(ben), "GET", "/v1/cops/cop-a/removals", "")
	if len(list.Removals) != 1 || list.Removals[0].ID != r.ID || list.Removals[0].PersonName != "Sam Subject" {
		t.Errorf("removals %+v, want Sam's", list.Removals)
	}
	e.do(e.person(sam), "GET", "/v1/cops/cop-a/removals", "").problem(t, http.StatusForbidden)
	e.do(e.person(other), "GET", "/v1/cops/cop-a/removals", "").problem(t, http.StatusForbidden)
	e.do(e.person(other), "GET", "/v1/removals/"+r.ID, "").problem(t, http.StatusForbidden)

	var ap struct {
		ID         string `json:"id"`
		Status     string `json:"status"`
		PersonName string `json:"person_name"`
		Objections []struct {
			Name   string `json:"name"`
			Reason string `json:"reason"`
		} `json:"objections"`
	}
	e.must(http.StatusCreated, &ap, e.person(ann), "POST", "/v1/cops/cop-a/coordinator-appointments", fmt.Sprintf(`{"person_id":%q}`, ben))
	if ap.PersonName != "Ben Working" || ap.Objections == nil || len(ap.Objections) != 0 {
		t.Errorf("appointment %+v: want Ben named, no objections", ap)
	}
	e.must(http.StatusOK, &ap, e.person(ann), "POST", "/v1/coordinator-appointments/"+ap.ID+"/objections", fmt.Sprintf(`{"person_id":%q,"reason":"let us talk first"}`, ann))
	if ap.Status != "lapsed" || len(ap.Objections) != 1 || ap.Objections[0].Name != "Ann Working" || ap.Objections[0].Reason != "let us talk first" {
		t.Errorf("after Ann's objection: %+v", ap)
	}
	var aps struct {
		Appointments []struct {
			ID string `json:"id"`
		} `json:"appointments"`
	}
	e.must(http.StatusOK, &aps, e.person(sam), "GET", "/v1/cops/cop-a/coordinator-appointments", "")
	if len(aps.Appointments) != 1 || aps.Appointments[0].ID != ap.ID {
		t.Errorf("a member lists %+v, want the one appointment", aps.Appointments)
	}
	e.do(e.person(other), "GET", "/v1/cops/cop-a/coordinator-appointments", "").problem(t, http.StatusForbidden)
}
