package app

// Personal API tokens let a person's scripts and integrations (copctl among them) act for
// them with some of their grants until an expiry they choose, up to a year. A token is an
// access token like any other, signed by the issuer, so every service verifies it locally;
// its id ("pat_" and the row's id) is what a revocation names. membership keeps only the
// token's SHA-256 hash, to show it was issued; it is shown once, when created.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
)

// APITokenPrefix starts every personal API token's id, so that a request made with one can
// be told from a signed-in person's, and refused what only a person may do (make tokens).
const APITokenPrefix = "pat_"

// Limits on a personal API token.
const (
	MaxTokenDays   = 365
	maxTokenName   = 100
	maxTokenGrants = 50
)

// TokensTx is the part of a unit of work that concerns personal API tokens.
type TokensTx interface {
	// AddAPIToken stores a token's row (its hash, never the token).
	AddAPIToken(ctx context.Context, t *APIToken) error
	// APITokens lists a person's tokens, newest first.
	APITokens(ctx context.Context, person string) ([]*APIToken, error)
	// APIToken loads one token, locked when lock; nil when unknown.
	APIToken(ctx context.Context, id string, lock bool) (*APIToken, error)
	// RevokeAPIToken records a token's revocation.
	RevokeAPIToken(ctx context.Context, id string, now time.Time) error
}

// APIToken is a personal API token as stored: never the token itself.
type APIToken struct {
	ID        string
	PersonID  string
	Name      string
	Grants    []httpx.Grant
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// APITokenView is a token as its person sees it in a list.
type APITokenView struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Grants    []httpx.Grant `json:"grants"`
	Status    string        `json:"status"` // active, expired, revoked
	CreatedAt time.Time     `json:"created_at"`
	ExpiresAt time.Time     `json:"expires_at"`
	RevokedAt *time.Time    `json:"revoked_at,omitempty"`
}

func tokenView(t *APIToken, now time.Time) APITokenView {
	v := APITokenView{ID: t.ID, Name: t.Name, Grants: t.Grants, Status: "active", CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt}
	switch {
	case t.RevokedAt != nil:
		v.Status = "revoked"
	case !now.Before(t.ExpiresAt):
		v.Status = "expired"
	}
	return v
}

// CreatedToken is the answer to creating a token: the only time the token is shown.
type CreatedToken struct {
	APITokenView
	Token string `json:"token"`
}

// NewToken is the input of CreateToken.
type NewToken struct {
	Name          string        `json:"name"`
	Grants        []httpx.Grant `json:"grants"`
	ExpiresInDays int           `json:"expires_in_days"`
}

func checkNewToken(in NewToken) (NewToken, error) {
	in.Name = strings.TrimSpace(in.Name)
	var v apperr.Validator
	v.Check(in.Name != "" && utf8.RuneCountInString(in.Name) <= maxTokenName && utf8.ValidString(in.Name) &&
		!strings.ContainsFunc(in.Name, unicode.IsControl),
		"name", fmt.Sprintf("is required: what the token is for, at most %d characters", maxTokenName))
	v.Check(in.ExpiresInDays >= 1 && in.ExpiresInDays <= MaxTokenDays, "expires_in_days", fmt.Sprintf("must be from 1 to %d", MaxTokenDays))
	if v.Require(in.Grants != nil, "grants", "is required: the grants the token carries, each one you hold ([] for none)") &&
		v.Require(len(in.Grants) <= maxTokenGrants, "grants", fmt.Sprintf("has at most %d grants", maxTokenGrants)) {
		var unique []httpx.Grant
		for i, g := range in.Grants {
			if err := g.Validate(); err != nil {
				v.Check(false, fmt.Sprintf("grants[%d]", i), err.Error())
			}
			if !slices.Contains(unique, g) {
				unique = append(unique, g)
			}
		}
		in.Grants = unique
	}
	return in, v.Err()
}

// IsAPIToken reports whether c's token is a personal API token.
func IsAPIToken(c httpx.Claims) bool { return strings.HasPrefix(c.TokenID, APITokenPrefix) }

// CreateToken makes a personal API token for the caller carrying grants they hold now. Only
// a person signed in may: a token cannot make more tokens (which would let a leaked one
// outlive its revocation), and an operator's token names no person to hold one.
func (a *Application) CreateToken(ctx context.Context, c httpx.Claims, in NewToken) (*CreatedToken, error) {
	if err := httpx.Authorize(c, c.Signed(), "create API tokens"); err != nil {
		return nil, err
	}
	if IsAPIToken(c) {
		return nil, apperr.Forbidden("a personal API token cannot create tokens: sign in to copnet to create one")
	}
	in, err := checkNewToken(in)
	if err != nil {
		return nil, err
	}
	if a.identity == nil {
		return nil, errors.New("API tokens need the token issuer (EnableIdentity)")
	}
	var out *CreatedToken
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		p, err := tx.Person(ctx, c.Subject, false)
		if err != nil {
			return nil, err
		}
		if p == nil || p.Erased {
			return nil, apperr.Forbidden("only a registered person signed in may create API tokens; this token names no person")
		}
		held, err := tx.Grants(ctx, c.Subject)
		if err != nil {
			return nil, err
		}
		for i, g := range in.Grants {
			if !slices.Contains(held, g) {
				return nil, apperr.Forbidden("grants[%d] (%s) is not a grant you hold: a token carries only grants of yours", i, g)
			}
		}
		t := &APIToken{ID: APITokenPrefix + newID(), PersonID: c.Subject, Name: in.Name, Grants: in.Grants, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		if t.Grants == nil {
			t.Grants = []httpx.Grant{}
		}
		// Tokens carry the real time (the signer's clock), not the application's.
		tok, exp, err := a.identity.signer.SignUntil(httpx.Claims{Subject: c.Subject, Grants: t.Grants, TokenID: t.ID},
			time.Duration(in.ExpiresInDays)*24*time.Hour)
		if err != nil {
			return nil, err
		}
		t.ExpiresAt = exp.UTC()
		sum := sha256.Sum256([]byte(tok))
		t.Hash = sum[:]
		if err := tx.AddAPIToken(ctx, t); err != nil {
			return nil, err
		}
		out = &CreatedToken{APITokenView: tokenView(t, t.CreatedAt), Token: tok}
		return nil, nil
	})
}

// Tokens lists the caller's personal API tokens, newest first, without the tokens.
func (a *Application) Tokens(ctx context.Context, c httpx.Claims) ([]APITokenView, error) {
	if err := httpx.Authorize(c, c.Signed(), "list API tokens"); err != nil {
		return nil, err
	}
	out := []APITokenView{}
	return out, a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		ts, err := tx.APITokens(ctx, c.Subject)
		now := time.Now()
		for _, t := range ts {
			out = append(out, tokenView(t, now))
		}
		return nil, err
	})
}

// RevokeToken revokes one of the caller's tokens: every service refuses it once the
// access_revoked event reaches it. Revoking again changes nothing.
func (a *Application) RevokeToken(ctx context.Context, c httpx.Claims, id string) error {
	if err := httpx.Authorize(c, c.Signed(), "revoke API tokens"); err != nil {
		return err
	}
	return a.inTx(ctx, func(tx Tx) ([]events.Event, error) {
		t, err := tx.APIToken(ctx, id, true)
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, apperr.NotFound("API token %q does not exist", id)
		}
		if err := httpx.Authorize(c, c.IsPerson(t.PersonID), "revoke another person's API token"); err != nil {
			return nil, err
		}
		if t.RevokedAt != nil {
			return nil, nil
		}
		if err := tx.RevokeAPIToken(ctx, id, time.Now().UTC().Truncate(time.Microsecond)); err != nil {
			return nil, err
		}
		return []events.Event{events.AccessRevoked{PersonID: t.PersonID, TokenID: t.ID, ExpiresAt: t.ExpiresAt, Reason: "token_revoked"}}, nil
	})
}
