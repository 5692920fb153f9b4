package membership_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// codeVersion waits until membership knows cop's Code of Practice version v.
func (e *env) codeVersion(cop string, v int) {
	e.t.Helper()
	testkit.Eventually(e.t, waitFor, func() error {
		var reg struct {
			Version int `json:"code_of_practice_version"`
		}
		e.must(http.StatusOK, &reg, e.national(), "GET", "/v1/cops/"+cop+"/registration", "")
		if reg.Version != v {
			return fmt.Errorf("membership knows Code of Practice version %d, want %d", reg.Version, v)
		}
		return nil
	})
}

type myMembership struct {
	CoPID      string `json:"cop_id"`
	Accepted   int    `json:"code_of_practice_version"`
	Current    int    `json:"current_code_of_practice_version"`
	MustAccept bool   `json:"must_accept"`
}

func (e *env) myMemberships(person string) []myMembership {
	e.t.Helper()
	var out struct{ Memberships []myMembership }
	e.must(http.StatusOK, &out, e.person(person), "GET", "/v1/me/memberships", "")
	return out.Memberships
}

// TestAMemberAcceptsEachNewCodeOfPractice: a member who accepted version 1 was stuck when
// version 2 and 3 came (joining again is a 409). Now they accept each new version while
// staying a member, /v1/me/memberships says which CoPs await their acceptance, and only
// the current version can be accepted.
func TestAMemberAcceptsEachNewCodeOfPractice(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-a")
	aroha := e.register("Aroha Smith", "aroha@example.org")
	e.join("cop-a", aroha)
	if ms := e.myMemberships(aroha); len(ms) != 1 || ms[0] != (myMembership{CoPID: "cop-a", Accepted: 1, Current: 1}) {
		t.Fatalf("memberships after joining = %+v", ms)
	}
	accept := func(v int) *response {
		return e.do(e.person(aroha), "POST", "/v1/cops/cop-a/members/"+aroha+"/code-of-practice", fmt.Sprintf(`{"code_of_practice_version":%d}`, v))
	}
	for v := 2; v <= 3; v++ {
		e.n.Publish(t, events.CharterPublished{CoPID: "cop-a", Region: "vic", Version: v})
		e.codeVersion("cop-a", v)
		if ms := e.myMemberships(aroha); len(ms) != 1 || ms[0] != (myMembership{CoPID: "cop-a", Accepted: v - 1, Current: v, MustAccept: true}) {
			t.Fatalf("memberships after version %d = %+v, want it awaiting acceptance", v, ms)
		}
		p := accept(v-1).problem(t, http.StatusUnprocessableEntity)
		if !slices.Equal(p.fields(), []string{"code_of_practice_version"}) || !strings.Contains(p.Detail, fmt.Sprintf("version %d", v)) {
			t.Errorf("accepting an old version: %+v, want it to name the current one", p)
		}
		var m struct {
			Version int `json:"code_of_practice_version"`
		}
		r := accept(v)
		if r.status != http.StatusOK {
			t.Fatalf("accepting version %d: %s", v, r)
		}
		decode(t, r, &m)
		if m.Version != v {
			t.Errorf("the membership records version %d, want %d", m.Version, v)
		}
		if ms := e.myMemberships(aroha); ms[0].MustAccept || ms[0].Accepted != v {
			t.Errorf("memberships after accepting %d = %+v", v, ms)
		}
	}
	// Accepting again changes nothing; another person cannot accept for the member; a
	// person who is not a member has nothing to accept.
	if r := accept(3); r.status != http.StatusOK {
		t.Errorf("accepting the accepted version again: %s", r)
	}
	ben := e.register("Ben Li", "ben@example.org")
	e.do(e.person(ben), "POST", "/v1/cops/cop-a/members/"+aroha+"/code-of-practice", `{"code_of_practice_version":3}`).problem(t, http.StatusForbidden)
	e.do(e.person(ben), "POST", "/v1/cops/cop-a/members/"+ben+"/code-of-practice", `{"code_of_practice_version":3}`).problem(t, http.StatusNotFound)
	e.do(e.person(aroha), "POST", "/v1/cops/cop-a/members/"+aroha+"/code-of-practice", `{}`).problem(t, http.StatusBadRequest)
}

// TestOnlineRegistrationDirectoryAndOpenInvitations: a person joins by themselves only
// once the coordinator opens registration (another CoP's coordinator cannot open it); the
// directory shows members' names and organisations to members only; the CoP's open
// invitations are its coordinator's to see, not another CoP's; the coordinator imports a
// roster (which invites, never joins).
func TestOnlineRegistrationDirectoryAndOpenInvitations(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-a", "cop-b")
	aroha := e.register("Aroha Smith", "aroha@example.org")
	ben := e.register("Ben Li", "ben@example.org")
	join := fmt.Sprintf(`{"person_id":%q,"code_of_practice_version":1}`, aroha)

	e.do(e.person(aroha), "POST", "/v1/cops/cop-a/members", join).problem(t, http.StatusForbidden)
	e.do(e.coordinator("cop-b"), "PUT", "/v1/cops/cop-a/registration", `{"open":true}`).problem(t, http.StatusForbidden)
	e.do(e.person(aroha), "PUT", "/v1/cops/cop-a/registration", `{"open":true}`).problem(t, http.StatusForbidden)
	var reg struct {
		Open    bool `json:"open"`
		Version int  `json:"code_of_practice_version"`
	}
	e.must(http.StatusOK, &reg, e.coordinator("cop-a"), "PUT", "/v1/cops/cop-a/registration", `{"open":true}`)
	e.must(http.StatusOK, &reg, e.person(ben), "GET", "/v1/cops/cop-a/registration", "")
	if !reg.Open || reg.Version != 1 {
		t.Fatalf("registration = %+v, want open under version 1", reg)
	}
	e.must(http.StatusCreated, nil, e.person(aroha), "POST", "/v1/cops/cop-a/members", join)
	// Registration in one CoP opens no other.
	e.do(e.person(ben), "POST", "/v1/cops/cop-b/members", fmt.Sprintf(`{"person_id":%q,"code_of_practice_version":1}`, ben)).problem(t, http.StatusForbidden)
	e.must(http.StatusOK, nil, e.coordinator("cop-a"), "PUT", "/v1/cops/cop-a/registration", `{"open":false}`)
	e.do(e.person(ben), "POST", "/v1/cops/cop-a/members", fmt.Sprintf(`{"person_id":%q,"code_of_practice_version":1}`, ben)).problem(t, http.StatusForbidden)

	var dir struct {
		Members []map[string]string `json:"members"`
	}
	e.must(http.StatusOK, &dir, e.person(aroha), "GET", "/v1/cops/cop-a/directory", "")
	if len(dir.Members) != 1 || dir.Members[0]["name"] != "Aroha Smith" || dir.Members[0]["organisation"] != "Community Health" || len(dir.Members[0]) != 2 {
		t.Errorf("directory = %+v, want Aroha's name and organisation only", dir.Members)
	}
	e.do(e.person(ben), "GET", "/v1/cops/cop-a/directory", "").problem(t, http.StatusForbidden)
	e.do(e.coordinator("cop-b"), "GET", "/v1/cops/cop-a/directory", "").problem(t, http.StatusForbidden)

	var res struct {
		Invited int `json:"invited"`
	}
	r := e.send(e.coordinator("cop-a"), "POST", "/v1/cops/cop-a/members:import", "text/csv",
		"name,email,organisation\nCai Ngata,cai@example.org,Te Whatu Ora\nDee Ross,dee@example.org,\n")
	decode(t, r, &res)
	if res.Invited != 2 {
		t.Fatalf("%s: want two invited", r)
	}
	e.send(e.coordinator("cop-b"), "POST", "/v1/cops/cop-a/members:import", "text/csv", "name,email\nEve,eve@example.org\n").problem(t, http.StatusForbidden)
	e.do(e.coordinator("cop-b"), "POST", "/v1/invitations", `{"email":"eve@example.org","grant":{"role":"member","cop":"cop-a"}}`).problem(t, http.StatusForbidden)
	var open struct {
		Invitations []struct {
			Email  string `json:"email"`
			Status string `json:"status"`
		} `json:"invitations"`
	}
	e.must(http.StatusOK, &open, e.coordinator("cop-a"), "GET", "/v1/cops/cop-a/invitations", "")
	if len(open.Invitations) != 2 || open.Invitations[0].Status != "open" {
		t.Errorf("open invitations = %+v, want cai's and dee's", open.Invitations)
	}
	e.do(e.coordinator("cop-b"), "GET", "/v1/cops/cop-a/invitations", "").problem(t, http.StatusForbidden)
	if m := e.members("cop-a"); len(m) != 1 {
		t.Errorf("the import joined people: %v", m)
	}
}
