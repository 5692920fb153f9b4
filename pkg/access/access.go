// Package access issues and verifies copnet's access tokens: short-lived JWTs carrying a
// person and the grants they hold, signed with an Ed25519 key (EdDSA) that only the issuer
// (membership, or the all-in-one's process) holds. Every service verifies tokens locally
// against the issuer's published key set (/.well-known/jwks.json), so no service but the
// issuer can mint one. Revocations (sign-out everywhere, a grant withdrawn, a token revoked)
// travel as membership.access_revoked events that every service applies (revocations.go).
package access

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// TokenTTL is how long an access token issued to a signed-in person lives: short, so a
// grant withdrawn or a session ended stops working soon even where an event is late.
const TokenTTL = 15 * time.Minute

// Issuer is the token issuer's name in the "iss" claim.
const Issuer = "copnet"

// Token times carry milliseconds (RFC 7519 NumericDate may be fractional): a revocation
// refuses every token of a person issued up to its moment, and a token issued a moment
// after it (a refresh right after a grant was withdrawn) must not be refused with them, as it
// would be at the whole-second precision golang-jwt uses by default.
func init() { jwt.TimePrecision = time.Millisecond }

// clockSkew tolerates small clock differences between the issuer and a verifier.
const clockSkew = 30 * time.Second

// SigningKey derives the node's Ed25519 signing key from its secret. Deriving it (HKDF with
// a label used for nothing else) means operators' `copnet token` and the node sign with the
// same key from the same data dir, and no key file has to be kept beside the secret.
func SigningKey(secret []byte) (ed25519.PrivateKey, error) {
	if len(secret) < 16 {
		return nil, errors.New("access token signing key: the node secret is missing or shorter than 16 bytes")
	}
	seed, err := hkdf.Key(sha256.New, secret, nil, "copnet access token signing key v1", ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("derive signing key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// KeyID names a public key in the key set: a hash of the key, so a new key has a new id.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Signer issues tokens. Only the issuer has one.
type Signer struct {
	key ed25519.PrivateKey
	kid string
	now func() time.Time
}

// NewSigner returns the signer of the node whose secret is given; now is its clock (nil:
// time.Now).
func NewSigner(secret []byte, now func() time.Time) (*Signer, error) {
	key, err := SigningKey(secret)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{key: key, kid: KeyID(key.Public().(ed25519.PublicKey)), now: now}, nil
}

// Public returns the signer's public key set, for in-process verifiers and the JWKS route.
func (s *Signer) Public() KeySet {
	return KeySet{s.kid: s.key.Public().(ed25519.PublicKey)}
}

// tokenClaims is the JWT body.
type tokenClaims struct {
	Grants []httpx.Grant `json:"grants"`
	jwt.RegisteredClaims
}

// NewTokenID returns a fresh random token id.
func NewTokenID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}

// Sign issues a token for c that expires after ttl. A token id is made when c has none.
func (s *Signer) Sign(c httpx.Claims, ttl time.Duration) (string, error) {
	tok, _, err := s.SignUntil(c, ttl)
	return tok, err
}

// SignUntil is Sign, also answering the token's expiry as the token states it.
func (s *Signer) SignUntil(c httpx.Claims, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 {
		return "", time.Time{}, fmt.Errorf("sign token: ttl %v is not positive", ttl)
	}
	if err := c.Validate(); err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	if c.TokenID == "" {
		c.TokenID = NewTokenID()
	}
	now := s.now()
	exp := now.Add(ttl).Truncate(jwt.TimePrecision)
	grants := c.Grants
	if grants == nil {
		grants = []httpx.Grant{}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, tokenClaims{
		Grants: grants,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   c.Subject,
			ID:        c.TokenID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	})
	tok.Header["kid"] = s.kid
	out, err := tok.SignedString(s.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return out, exp, nil
}

// Verifier checks tokens against the issuer's public keys and the revocations this process
// has applied. It implements httpx.Verifier.
type Verifier struct {
	Keys KeySource
	// Revoked, when set, refuses tokens revoked by an event.
	Revoked *Revocations
	// Now is the verifier's clock (nil: time.Now).
	Now func() time.Time
}

// KeySource finds the public key a token names.
type KeySource interface {
	Key(kid string) (ed25519.PublicKey, error)
}

// Verify checks the algorithm (EdDSA only: HS256 and "none" are refused outright), the key,
// the expiry and the claims, then the revocations. Errors are KindUnauthenticated.
func (v Verifier) Verify(token string) (httpx.Claims, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	var tc tokenClaims
	_, err := jwt.ParseWithClaims(token, &tc, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token names no key")
		}
		return v.Keys.Key(kid)
	},
		// Pinning the algorithm blocks "none" and key-confusion attacks.
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(Issuer),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(now),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return httpx.Claims{}, apperr.Unauthenticated("token has expired").Wrap(err)
		}
		return httpx.Claims{}, apperr.Unauthenticated("token is invalid").Wrap(err)
	}
	c := httpx.Claims{Subject: tc.Subject, Grants: tc.Grants, TokenID: tc.ID}
	if tc.IssuedAt != nil {
		c.IssuedAt = tc.IssuedAt.Time
	}
	if err := c.Validate(); err != nil {
		return httpx.Claims{}, apperr.Unauthenticated("token claims are invalid: " + err.Error()).Wrap(err)
	}
	if c.TokenID == "" {
		return httpx.Claims{}, apperr.Unauthenticated("token has no id")
	}
	if v.Revoked != nil && v.Revoked.Refuses(c) {
		return httpx.Claims{}, apperr.Unauthenticated("token has been revoked")
	}
	return c, nil
}
