package federation_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/federation"
)

func TestOpenAPIListsTheRoutes(t *testing.T) {
	testkit.AssertOpenAPIRoutes(t, "openapi/federation.yaml", federation.Routes())
}

// Every route × role × own/other scope: national and the hub of the region this node
// serves manage its federation; everyone else is refused.
func TestRoutesByRoleAndScope(t *testing.T) {
	n := testkit.StartNode(t, testkit.NodeOptions{NodeID: "vic"},
		federation.Factory(federation.Config{NodeID: "vic", Tier: "regional"}))
	callers := map[string]string{
		"anonymous":   "",
		"national":    n.Token(t, httpx.Claims{Subject: string(httpx.RoleNational), Grants: []httpx.Grant{{Role: httpx.RoleNational}}}),
		"hub of vic":  n.Token(t, httpx.Claims{Subject: string(httpx.RoleHub), Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "vic"}}}),
		"hub of wa":   n.Token(t, httpx.Claims{Subject: string(httpx.RoleHub), Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "wa"}}}),
		"coordinator": n.Token(t, httpx.Claims{Subject: string(httpx.RoleCoordinator), Grants: []httpx.Grant{{Role: httpx.RoleCoordinator, CoP: "c1"}}}),
		"member":      n.Token(t, httpx.Claims{Subject: "p1"}),
	}
	allowed := map[string]bool{"national": true, "hub of vic": true}
	body := map[string]string{"id": "geelong", "tier": "local", "parent": "vic"}
	for _, route := range federation.Routes() {
		for who, tok := range callers {
			method, path, _ := strings.Cut(route, " ")
			var b any
			if method == "POST" {
				b = body
			}
			status, raw := n.Do(t, method, path, tok, b)
			var want int
			switch {
			case who == "anonymous":
				want = http.StatusUnauthorized
			case !allowed[who]:
				want = http.StatusForbidden
			case method == "POST":
				// This node has no leaf listener, so it accepts no children: refused by
				// rule, after authorization passed.
				want = http.StatusUnprocessableEntity
			default:
				want = http.StatusOK
			}
			if status != want {
				t.Errorf("%s by %s: %d %s, want %d", route, who, status, raw, want)
			}
		}
	}
}

func TestRegistrationInputIsValidated(t *testing.T) {
	n := testkit.StartNode(t, testkit.NodeOptions{NodeID: "vic"},
		federation.Factory(federation.Config{NodeID: "vic", Tier: "regional"}))
	tok := n.Token(t, httpx.Claims{Subject: string(httpx.RoleNational), Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
	var problem struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	status := n.JSON(t, "POST", "/v1/nodes", tok, map[string]string{"id": "Bad Id", "tier": "national", "parent": "wa"}, &problem)
	if status != http.StatusBadRequest || len(problem.Errors) != 3 {
		t.Fatalf("want 400 naming id, tier and parent; got %d %+v", status, problem)
	}
	if status := n.JSON(t, "POST", "/v1/nodes", tok, `{"id": 7}`, nil); status != http.StatusBadRequest {
		t.Fatalf("malformed body: %d", status)
	}
}

// Children an external server's configuration accepts are sourced without registration.
func TestStaticChildrenAreSourced(t *testing.T) {
	n := testkit.StartNode(t, testkit.NodeOptions{}, federation.Factory(federation.Config{
		NodeID: "national", Tier: "national", StaticChildren: []string{"vic", "wa"}}))
	var list struct {
		Children []struct{ ID string } `json:"children"`
	}
	if st := n.JSON(t, "GET", "/v1/nodes", n.Token(t, httpx.Claims{Subject: string(httpx.RoleNational), Grants: []httpx.Grant{{Role: httpx.RoleNational}}}), nil, &list); st != http.StatusOK || len(list.Children) != 2 {
		t.Fatalf("children: %d %+v", st, list)
	}
	nc := n.NATS.Connect(t)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	info, err := js.StreamInfo("COPNET")
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, s := range info.Config.Sources {
		prefixes = append(prefixes, s.External.APIPrefix)
	}
	if strings.Join(prefixes, ",") != "$JS.vic.API,$JS.wa.API" {
		t.Fatalf("sources %v", prefixes)
	}
}
