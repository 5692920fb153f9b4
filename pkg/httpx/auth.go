package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

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
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleNational, RoleHub, RoleCoordinator, RoleMember:
		return true
	}
	return false
}

// Claims is the verified identity of a caller. The zero value is an
// anonymous caller.
type Claims struct {
	// Subject is the person id (JWT "sub").
	Subject string
	// Role is the caller's role (JWT "role").
	Role Role
	// Region scopes a hub (JWT "region").
	Region string
	// CoP scopes a coordinator (JWT "cop").
	CoP string
}

// IsNational reports whether the caller administers the whole network.
func (c Claims) IsNational() bool { return c.Role == RoleNational }

// IsHubOf reports whether the caller is the hub of region.
func (c Claims) IsHubOf(region string) bool {
	return c.Role == RoleHub && c.Region != "" && c.Region == region
}

// IsCoordinatorOf reports whether the caller coordinates cop.
func (c Claims) IsCoordinatorOf(cop string) bool {
	return c.Role == RoleCoordinator && c.CoP != "" && c.CoP == cop
}

// IsPerson reports whether the caller is the person with the given id,
// whatever their role.
func (c Claims) IsPerson(id string) bool {
	return c.Subject != "" && c.Subject == id
}

// validate enforces that each role carries the scope it is checked against;
// a hub token without a region would otherwise match no region and fail in
// confusing places far from the token.
func (c Claims) validate() error {
	switch {
	case !c.Role.Valid():
		return fmt.Errorf("unknown role %q", c.Role)
	case c.Role == RoleHub && c.Region == "":
		return errors.New("hub token has no region")
	case c.Role == RoleCoordinator && c.CoP == "":
		return errors.New("coordinator token has no cop")
	case c.Role == RoleMember && c.Subject == "":
		return errors.New("member token has no subject")
	}
	return nil
}

// Verifier turns a bearer token into claims. It is an interface so that an
// OIDC verifier can replace HS256 without touching handlers.
type Verifier interface {
	// Verify returns the claims of a valid token, or an error.
	Verify(token string) (Claims, error)
}

// HS256 signs and verifies JWTs with a shared HMAC-SHA256 secret.
type HS256 struct {
	// Secret is the shared key; it must not be empty.
	Secret []byte
}

// clockSkew tolerates small clock differences between the token issuer and
// this service.
const clockSkew = 30 * time.Second

type jwtClaims struct {
	Role   Role   `json:"role"`
	Region string `json:"region,omitempty"`
	CoP    string `json:"cop,omitempty"`
	jwt.RegisteredClaims
}

// Sign issues a token for c that expires after ttl.
func (h HS256) Sign(c Claims, ttl time.Duration) (string, error) {
	if len(h.Secret) == 0 {
		return "", errors.New("sign token: empty secret")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("sign token: ttl %v is not positive", ttl)
	}
	if err := c.validate(); err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{
		Role:   c.Role,
		Region: c.Region,
		CoP:    c.CoP,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   c.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	})
	s, err := tok.SignedString(h.Secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify checks the signature, algorithm and expiry of token and that its
// claims are consistent with its role. Errors are KindUnauthenticated.
func (h HS256) Verify(token string) (Claims, error) {
	if len(h.Secret) == 0 {
		// An empty key would let anyone forge tokens.
		return Claims{}, apperr.Unauthenticated("token cannot be verified").Wrap(errors.New("empty secret"))
	}
	var jc jwtClaims
	_, err := jwt.ParseWithClaims(token, &jc,
		func(*jwt.Token) (any, error) { return h.Secret, nil },
		// Pinning the algorithm blocks "none" and key-confusion attacks.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Claims{}, apperr.Unauthenticated("token has expired").Wrap(err)
		}
		return Claims{}, apperr.Unauthenticated("token is invalid").Wrap(err)
	}
	c := Claims{Subject: jc.Subject, Role: jc.Role, Region: jc.Region, CoP: jc.CoP}
	if err := c.validate(); err != nil {
		return Claims{}, apperr.Unauthenticated("token claims are invalid: " + err.Error()).Wrap(err)
	}
	return c, nil
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
			// Verifiers other than HS256 may return plain errors; a bad
			// token is still the client's problem, not a server fault.
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
			if len(roles) > 0 && !slices.Contains(roles, c.Role) {
				WriteProblem(w, r, apperr.Forbidden("role %q may not access this resource", c.Role))
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
	if c.Role == "" {
		return apperr.Unauthenticated("authentication is required to " + what)
	}
	return apperr.Forbidden("%s may not %s", c.Role, what)
}
