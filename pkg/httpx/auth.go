package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
)

// Role is the part a caller plays in the CoP network.
type Role string

// Roles, from the widest scope to the narrowest.
const (
	// RoleNational administers the whole network.
	RoleNational Role = "national"
	// RoleHub runs one region; its tokens carry the region.
	RoleHub Role = "hub"
	// RoleCoordinator runs one CoP; its tokens carry the CoP.
	RoleCoordinator Role = "coordinator"
	// RoleMember is a person taking part in CoPs; its tokens carry the
	// person's id as subject.
	RoleMember Role = "member"
	// RoleWorkingGroup sits on a CoP's working group; its grants carry the CoP.
	RoleWorkingGroup Role = "working_group"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleNational, RoleHub, RoleCoordinator, RoleMember, RoleWorkingGroup:
		return true
	}
	return false
}

// Grant is one part a person plays: national staff, the hub officer of a region, the
// coordinator (or a working-group member) of a CoP, or a member of a CoP. Grants are data
// held by membership; a token carries the grants its person held when it was issued.
type Grant struct {
	Role   Role   `json:"role"`
	Region string `json:"region,omitempty"`
	CoP    string `json:"cop,omitempty"`
}

// Validate enforces that each grant carries the scope it is checked against; a hub grant
// without a region would otherwise match no region and fail in confusing places far from
// where it was given.
func (g Grant) Validate() error {
	switch {
	case !g.Role.Valid():
		return fmt.Errorf("unknown role %q", g.Role)
	case g.Role == RoleNational && (g.Region != "" || g.CoP != ""):
		return errors.New("a national grant has no region or cop")
	case g.Role == RoleHub && (g.Region == "" || g.CoP != ""):
		return errors.New("a hub grant has a region and no cop")
	case (g.Role == RoleCoordinator || g.Role == RoleWorkingGroup || g.Role == RoleMember) && (g.CoP == "" || g.Region != ""):
		return fmt.Errorf("a %s grant has a cop and no region", g.Role)
	}
	return nil
}

// String says in words what the grant gives, for pages and messages.
func (g Grant) String() string {
	switch g.Role {
	case RoleNational:
		return "national secretariat"
	case RoleHub:
		return "hub officer of " + g.Region
	case RoleCoordinator:
		return "coordinator of CoP " + g.CoP
	case RoleMember:
		return "member of CoP " + g.CoP
	case RoleWorkingGroup:
		return "working group of CoP " + g.CoP
	}
	return string(g.Role)
}

// Claims is the verified identity of a caller: the person and the grants they hold. The
// zero value is an anonymous caller.
type Claims struct {
	// Subject is the person id (JWT "sub"); every signed-in caller has one.
	Subject string
	// Grants are what the person may do, as issued (JWT "grants").
	Grants []Grant
	// TokenID identifies the token (JWT "jti"), so that one token can be revoked.
	TokenID string
	// IssuedAt is when the token was issued; signing out everywhere revokes every token of
	// the person issued before a moment.
	IssuedAt time.Time
}

// One returns the claims of subject holding the single grant g: what operators' tokens
// (`copnet token`) and most tests carry.
func One(subject string, g Grant) Claims {
	return Claims{Subject: subject, Grants: []Grant{g}}
}

// Signed reports whether the caller is a signed-in person (holding grants or not).
func (c Claims) Signed() bool { return c.Subject != "" }

// Holds reports whether the caller holds any grant of role.
func (c Claims) Holds(role Role) bool {
	return slices.ContainsFunc(c.Grants, func(g Grant) bool { return g.Role == role })
}

// IsNational reports whether the caller administers the whole network.
func (c Claims) IsNational() bool { return c.Holds(RoleNational) }

// IsHubOf reports whether the caller is a hub officer of region.
func (c Claims) IsHubOf(region string) bool {
	return region != "" && slices.Contains(c.Grants, Grant{Role: RoleHub, Region: region})
}

// IsCoordinatorOf reports whether the caller coordinates cop.
func (c Claims) IsCoordinatorOf(cop string) bool {
	return cop != "" && slices.Contains(c.Grants, Grant{Role: RoleCoordinator, CoP: cop})
}

// IsMemberOf reports whether the caller holds the member grant of cop.
func (c Claims) IsMemberOf(cop string) bool {
	return cop != "" && slices.Contains(c.Grants, Grant{Role: RoleMember, CoP: cop})
}

// Scopes returns the regions (role hub) or CoPs (coordinator, member) the caller's grants
// of role cover.
func (c Claims) Scopes(role Role) []string {
	var out []string
	for _, g := range c.Grants {
		if g.Role == role {
			out = append(out, g.Region+g.CoP)
		}
	}
	return out
}

// Narrow answers which one scope of role a listing is about: the asked one when the caller
// holds a grant of role for it (else 403), or, when none was asked, the caller's only one
// (a person holding several must name one: 400).
func (c Claims) Narrow(role Role, field, asked, what string) (string, error) {
	held := c.Scopes(role)
	if asked != "" {
		if slices.Contains(held, asked) {
			return asked, nil
		}
		return "", apperr.Forbidden("your grants do not let you %s of %s", what, asked)
	}
	if len(held) == 1 {
		return held[0], nil
	}
	return "", apperr.Invalid(field, "you hold grants for "+strings.Join(held, ", ")+": name the one to "+what)
}

// IsPerson reports whether the caller is the person with the given id, whatever their
// grants.
func (c Claims) IsPerson(id string) bool {
	return c.Subject != "" && c.Subject == id
}

// Validate checks that a token's claims are ones a person could hold.
func (c Claims) Validate() error {
	if c.Subject == "" {
		return errors.New("token has no subject")
	}
	for _, g := range c.Grants {
		if err := g.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Verifier turns a bearer token into claims. Errors are best KindUnauthenticated.
type Verifier interface {
	// Verify returns the claims of a valid token, or an error.
	Verify(token string) (Claims, error)
}

type claimsKey struct{}

// WithClaims returns a context carrying c. Authenticate uses it; tests of
// handlers can use it to act as a caller without minting tokens.
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the caller's claims, and false for anonymous callers.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}

// Authenticate verifies bearer tokens. A request without an Authorization
// header continues anonymously, so public routes need no special casing;
// a header that is present but not a valid bearer token is rejected with
// 401, because silently downgrading a broken token to anonymous would hide
// client bugs.
func Authenticate(v Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			header := r.Header.Get("Authorization")
			if header == "" {
				next.ServeHTTP(w, r)
				return
			}
			claims, err := verifyHeader(v, header)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				WriteProblem(w, r, err)
				return
			}
			serveWithContext(WithClaims(r.Context(), claims), next, w, r)
		})
	}
}

func verifyHeader(v Verifier, header string) (Claims, error) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	// The scheme is case-insensitive (RFC 9110, section 11.1).
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Claims{}, apperr.Unauthenticated("authorization header must be a bearer token")
	}
	claims, err := v.Verify(token)
	if err != nil {
		if k, ok := apperr.KindOf(err); !ok || k != apperr.KindUnauthenticated {
			// A verifier may return plain errors; a bad token is still the
			// client's problem, not a server fault.
			return Claims{}, apperr.Unauthenticated("token is invalid").Wrap(err)
		}
		return Claims{}, err
	}
	return claims, nil
}

// RequireRole lets through only authenticated callers holding one of roles;
// with no roles, any authenticated caller passes. Anonymous callers get 401
// and callers with another role get 403.
func RequireRole(roles ...Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			if !ok {
				WriteProblem(w, r, apperr.Unauthenticated("authentication is required"))
				return
			}
			if len(roles) > 0 && !slices.ContainsFunc(roles, c.Holds) {
				WriteProblem(w, r, apperr.Forbidden("your grants do not let you access this resource"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Authorize turns the outcome of a scope check into an error: nil when ok,
// else a KindForbidden error saying the caller may not do what. Anonymous
// callers get KindUnauthenticated instead, since logging in might help them.
//
//	err := httpx.Authorize(c, c.IsNational() || c.IsHubOf(cop.Region), "edit this CoP")
func Authorize(c Claims, ok bool, what string) error {
	if ok {
		return nil
	}
	if !c.Signed() {
		return apperr.Unauthenticated("authentication is required to " + what)
	}
	return apperr.Forbidden("your grants do not let you %s", what)
}
