package testkit

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/httpx"
)

// Caller is a kind of caller an access matrix tries every route with. Each name has one
// meaning in every service; "own" and "other" are relative to the CoP (and its region) the
// request is about. A service that needs a caller these do not describe declares its own
// with a name of its own, never one of these names with another meaning.
type Caller string

const (
	// Anonymous sends no token.
	Anonymous Caller = "anonymous"
	// National administers the whole network.
	National Caller = "national"
	// HubOwn is the hub of the region of the CoP the request is about. Its token also holds
	// a member grant of a CoP in another region: people hold several grants (a hub officer
	// of vic who is a member of a wa CoP), and one grant must never lend its scope to another.
	HubOwn Caller = "hub of the CoP's region"
	// HubOther is the hub of another region.
	HubOther Caller = "hub of another region"
	// CoordOwn is the coordinator of the CoP the request is about. Its token also holds a
	// member grant of a CoP elsewhere (see HubOwn).
	CoordOwn Caller = "coordinator of the CoP"
	// CoordOther coordinates another CoP in the same region, so that a rule that looked at
	// the region instead of the CoP would let it through.
	CoordOther Caller = "coordinator of another CoP in the same region"
	// MemberOwn is a member of the CoP; where a route is about a person, that person.
	MemberOwn Caller = "member of the CoP"
	// MemberOther is a member of another CoP only.
	MemberOther Caller = "member of another CoP"
	// MemberNone has the member role and belongs to no CoP.
	MemberNone Caller = "member of no CoP"
)

// Scope names who the callers are for one request: the CoP and region it is about, and the
// person ids of the member callers. People gives the person id of a service's own
// member-role callers.
type Scope struct {
	Region, OtherRegion string
	CoP, OtherCoP       string
	Member, OtherMember string // MemberOwn, MemberOther
	NoMember            string // MemberNone
	People              map[Caller]string
}

// National mints a national token (subject sec-1).
func (n *Node) National(t testing.TB) string {
	t.Helper()
	return n.Token(t, httpx.Claims{Subject: "sec-1", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
}

// Hub mints the token of region's hub (subject hub-<region>).
func (n *Node) Hub(t testing.TB, region string) string {
	t.Helper()
	return n.Token(t, httpx.Claims{Subject: "hub-" + region, Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: region}}})
}

// Coordinator mints the token of cop's coordinator (subject coord-<cop>).
func (n *Node) Coordinator(t testing.TB, cop string) string {
	t.Helper()
	return n.Token(t, httpx.Claims{Subject: "coord-" + cop, Grants: []httpx.Grant{{Role: httpx.RoleCoordinator, CoP: cop}}})
}

// Member mints the token of person, a caller with the member role.
func (n *Node) Member(t testing.TB, person string) string {
	t.Helper()
	return n.Token(t, httpx.Claims{Subject: person})
}

// CallerToken mints the token of caller in scope s ("" for Anonymous). A caller the scope
// does not place fails the test rather than quietly sending another caller's token.
func (n *Node) CallerToken(t testing.TB, c Caller, s Scope) string {
	t.Helper()
	need := func(v string) string {
		t.Helper()
		if v == "" {
			t.Fatalf("testkit: the access scope %+v does not place caller %q", s, c)
		}
		return v
	}
	switch c {
	case Anonymous:
		return ""
	case National:
		return n.National(t)
	case HubOwn:
		return n.Token(t, httpx.Claims{Subject: "hub-" + need(s.Region), Grants: []httpx.Grant{
			{Role: httpx.RoleHub, Region: s.Region}, {Role: httpx.RoleMember, CoP: "cop-elsewhere"}}})
	case HubOther:
		return n.Hub(t, need(s.OtherRegion))
	case CoordOwn:
		return n.Token(t, httpx.Claims{Subject: "coord-" + need(s.CoP), Grants: []httpx.Grant{
			{Role: httpx.RoleCoordinator, CoP: s.CoP}, {Role: httpx.RoleMember, CoP: "cop-elsewhere"}}})
	case CoordOther:
		return n.Coordinator(t, need(s.OtherCoP))
	case MemberOwn:
		return n.Member(t, need(s.Member))
	case MemberOther:
		return n.Member(t, need(s.OtherMember))
	case MemberNone:
		return n.Member(t, need(s.NoMember))
	}
	return n.Member(t, need(s.People[c]))
}

// CallerTokens mints every caller's token in scope s.
func (n *Node) CallerTokens(t testing.TB, callers []Caller, s Scope) map[Caller]string {
	t.Helper()
	out := make(map[Caller]string, len(callers))
	for _, c := range callers {
		out[c] = n.CallerToken(t, c, s)
	}
	return out
}

// Expect is the status every caller must get from one request: the allowed callers get
// OK, Anonymous 401, every other caller 403, unless an exception says otherwise.
type Expect struct {
	ok      int
	allowed []Caller
	all     bool
	except  map[Caller]int
}

// Allowed expects ok for the listed callers, 401 for Anonymous and 403 for the rest.
func Allowed(ok int, callers ...Caller) Expect {
	return Expect{ok: ok, allowed: callers}
}

// Everyone expects ok for every caller, Anonymous included: the route needs no identity.
func Everyone(ok int) Expect {
	return Expect{ok: ok, all: true}
}

// With returns e with caller expected to get status instead.
func (e Expect) With(c Caller, status int) Expect {
	except := make(map[Caller]int, len(e.except)+1)
	for k, v := range e.except {
		except[k] = v
	}
	except[c] = status
	e.except = except
	return e
}

// Status is what caller c must get.
func (e Expect) Status(c Caller) int {
	if s, ok := e.except[c]; ok {
		return s
	}
	if e.all || slices.Contains(e.allowed, c) {
		return e.ok
	}
	if c == Anonymous {
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

// names lists every caller e names, to catch one the matrix does not try.
func (e Expect) names() []Caller {
	out := slices.Clone(e.allowed)
	for c := range e.except {
		out = append(out, c)
	}
	return out
}

// AccessCase is one request to one route and the status each caller must get.
type AccessCase[R any] struct {
	// Route is the route as the service's Routes() lists it: "METHOD /path".
	Route string
	// Name tells apart several cases of one route (a route in several states).
	Name string
	// Req is what the service's Do needs to send the request (path, body, state).
	Req  R
	Want Expect
}

// AccessMatrix is a service's route × caller × scope rules.
type AccessMatrix[R any] struct {
	// Routes is every route the service serves, "METHOD /path", so that a route added
	// without a case fails, and a case for a route nobody serves too.
	Routes  []string
	Callers []Caller
	Cases   []AccessCase[R]
	// Do sends case c's request as caller, in the caller's own subtest, and returns the
	// answer; header may be nil when the client does not keep it.
	Do func(t *testing.T, c AccessCase[R], caller Caller) (status int, header http.Header, body []byte)
}

// CheckAccess runs every case × every caller of m as subtests "route/name/caller" and
// compares the status; a refusal must be an RFC 9457 problem carrying that status.
func CheckAccess[R any](t *testing.T, m AccessMatrix[R]) {
	t.Helper()
	served := map[string]bool{}
	for _, r := range m.Routes {
		served[r] = true
	}
	covered := map[string]bool{}
	for _, c := range m.Cases {
		if !served[c.Route] {
			t.Errorf("the access table has %s, which the service does not serve", c.Route)
		}
		covered[c.Route] = true
		for _, who := range c.Want.names() {
			if !slices.Contains(m.Callers, who) {
				t.Errorf("%s %s: expects %q, whom the matrix does not try", c.Route, c.Name, who)
			}
		}
	}
	for _, r := range m.Routes {
		if !covered[r] {
			t.Errorf("route %s is not in the access table: add the status every caller must get", r)
		}
	}
	for _, c := range m.Cases {
		name := c.Route
		if c.Name != "" {
			name += "/" + c.Name
		}
		for _, caller := range m.Callers {
			want := c.Want.Status(caller)
			t.Run(name+"/"+string(caller), func(t *testing.T) {
				status, header, body := m.Do(t, c, caller)
				if status != want {
					t.Fatalf("%s as %s → %d %s, want %d", c.Route, caller, status, strings.TrimSpace(string(body)), want)
				}
				if want >= 400 {
					if err := isProblem(header, body, want); err != nil {
						t.Errorf("%s as %s: %v", c.Route, caller, err)
					}
				}
			})
		}
	}
}

// isProblem reports why body (and header, when known) is not an RFC 9457 problem with status.
func isProblem(header http.Header, body []byte, status int) error {
	if header != nil {
		if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/problem+json" {
			return fmt.Errorf("Content-Type %q, want application/problem+json", header.Get("Content-Type"))
		}
	}
	var p struct {
		Status int `json:"status"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Status != status {
		return fmt.Errorf("not a problem document with status %d (%v): %s", status, err, body)
	}
	return nil
}
