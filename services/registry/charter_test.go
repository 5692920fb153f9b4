package registry_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/copnet/copnet/pkg/httpx"
)

// TestCharterVersionsAndTheWorkingGroup: the CoP's working group publishes its charter (it
// writes the charter with the coordinator), another CoP's working group and coordinator
// cannot, and every version stays readable in one list, the newest first, for the diff
// members read before accepting a new Code of Practice.
func TestCharterVersionsAndTheWorkingGroup(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	c := e.propose("vic", "Charter CoP")
	e.decide(c.ID, "approve")
	other := e.propose("vic", "Other CoP")
	e.decide(other.ID, "approve")
	path := "/v1/cops/" + c.ID + "/charter"

	var empty struct {
		Versions []charter `json:"versions"`
	}
	e.must(http.StatusOK, &empty, e.member(), "GET", path+"/versions", "")
	if len(empty.Versions) != 0 {
		t.Fatalf("versions before any publication = %+v", empty.Versions)
	}

	wg := e.tk.Token(t, httpx.One("wg-1", httpx.Grant{Role: httpx.RoleWorkingGroup, CoP: c.ID}))
	otherWG := e.tk.Token(t, httpx.One("wg-2", httpx.Grant{Role: httpx.RoleWorkingGroup, CoP: other.ID}))
	e.must(http.StatusOK, nil, e.coordinator(c.ID), "PUT", path, fmt.Sprintf(charterBody, 1))
	e.must(http.StatusOK, nil, wg, "PUT", path, fmt.Sprintf(charterBody, 2))
	e.do(otherWG, "PUT", path, fmt.Sprintf(charterBody, 3)).problem(t, http.StatusForbidden)
	e.do(e.coordinator(other.ID), "PUT", path, fmt.Sprintf(charterBody, 3)).problem(t, http.StatusForbidden)

	var list struct {
		Versions []charter `json:"versions"`
	}
	e.must(http.StatusOK, &list, e.member(), "GET", path+"/versions", "")
	if len(list.Versions) != 2 || list.Versions[0].Version != 2 || list.Versions[0].Aims != "Aims 2" ||
		list.Versions[1].Version != 1 || list.Versions[1].Aims != "Aims 1" {
		t.Fatalf("versions = %+v, want 2 then 1 with their texts", list.Versions)
	}
	e.do(e.member(), "GET", "/v1/cops/no-such-cop/charter/versions", "").problem(t, http.StatusNotFound)
}
