package adapters

// The organisation's OpenID provider, spoken to with go-oidc and x/oauth2, and the rows
// of OpenID Connect sign-in: flows in flight and the provider accounts linked to people.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/copnet/copnet/services/membership/domain"
	"github.com/copnet/copnet/services/membership/internal/app"
)

var _ app.OIDCProvider = (*OIDC)(nil)

// OIDCSettings name the provider and copnet's registration at it.
type OIDCSettings struct {
	Issuer, ClientID, ClientSecret string
	// RedirectURL is the callback registered at the provider (PublicURL +
	// /auth/oidc/callback).
	RedirectURL string
	// Timeout bounds each request to the provider (default 10 s): a provider that hangs
	// fails the sign-in, it does not hold the browser's request forever.
	Timeout time.Duration
}

// OIDC is the provider. Its metadata (endpoints, keys) is discovered on first use, not at
// start, so copnet starts whether or not the provider is up; once discovered it is kept,
// and a failed discovery is tried again by the next sign-in.
type OIDC struct {
	set    OIDCSettings
	client *http.Client

	mu   sync.Mutex
	disc *discovered
}

// discovered is what discovery yields.
type discovered struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// NewOIDC returns the provider of s.
func NewOIDC(s OIDCSettings) *OIDC {
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	return &OIDC{set: s, client: &http.Client{Timeout: s.Timeout}}
}

// discover reads the provider's metadata once. The lock makes concurrent first sign-ins
// wait for one discovery rather than each start their own.
func (o *OIDC) discover(ctx context.Context) (*discovered, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.disc != nil {
		return o.disc, nil
	}
	// go-oidc keeps the client of this context for fetching keys later.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.set.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover the OpenID provider %s: %w", o.set.Issuer, err)
	}
	o.disc = &discovered{
		oauth: oauth2.Config{ClientID: o.set.ClientID, ClientSecret: o.set.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: o.set.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}},
		// Checks the signature against the provider's keys, the issuer, that copnet is an
		// audience, and expiry.
		verifier: p.Verifier(&oidc.Config{ClientID: o.set.ClientID}),
	}
	return o.disc, nil
}

// AuthCodeURL implements app.OIDCProvider.
func (o *OIDC) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	d, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	return d.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Redeem implements app.OIDCProvider.
func (o *OIDC) Redeem(ctx context.Context, code, verifier string) (*app.OIDCClaims, error) {
	d, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := d.oauth.Exchange(oidc.ClientContext(ctx, o.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, exchangeError(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("the token endpoint sent no ID token")
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("verify the ID token: %w", err)
	}
	var payload json.RawMessage
	if err := idt.Claims(&payload); err != nil {
		return nil, fmt.Errorf("read the ID token's claims: %w", err)
	}
	c, err := DecodeOIDCClaims(payload)
	if err != nil {
		return nil, err
	}
	c.Issuer, c.Subject, c.Nonce = idt.Issuer, idt.Subject, idt.Nonce
	return c, nil
}

// exchangeError says why the token endpoint refused, by its error code only: the body
// it sent is the provider's and is not logged.
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("the token endpoint refused the code: %d %q", status, re.ErrorCode)
	}
	return fmt.Errorf("exchange the code: %w", err)
}

// DecodeOIDCClaims reads what an ID token's payload says about the person: email,
// email_verified (true, or the string "true" that some providers send; anything else is
// not verified), and a name from name, else given_name and family_name. A claim of the
// wrong type counts as absent; a name that cannot be kept (too long, control characters)
// is left out, so the account is named from the address instead.
func DecodeOIDCClaims(payload []byte) (*app.OIDCClaims, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil || m == nil {
		return nil, errors.New("the ID token's claims are not a JSON object")
	}
	str := func(k string) string {
		var s string
		if json.Unmarshal(m[k], &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	}
	c := &app.OIDCClaims{Email: str("email"), EmailVerified: verified(m["email_verified"])}
	name := str("name")
	if name == "" {
		name = strings.TrimSpace(str("given_name") + " " + str("family_name"))
	}
	if len(name) <= domain.MaxName && utf8.ValidString(name) && !strings.ContainsFunc(name, unicode.IsControl) {
		c.Name = name
	}
	return c, nil
}

func verified(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return bytes.Equal(raw, []byte("true")) || bytes.Equal(raw, []byte(`"true"`))
}

// flowKey is the text key of a flow: its state's hash, so the table holds nothing a
// browser could present.
func flowKey(stateHash []byte) string { return hex.EncodeToString(stateHash) }

// AddOIDCFlow keeps a flow, forgetting flows long expired.
func (t *Tx) AddOIDCFlow(ctx context.Context, stateHash []byte, f app.OIDCFlow, now, expires time.Time) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM oidc_flows WHERE expires_at < $1`, now.Add(-time.Hour)); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO oidc_flows (state, nonce, verifier, next, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		flowKey(stateHash), f.Nonce, f.Verifier, f.Next, expires)
	return err
}

// UseOIDCFlow spends a flow. The delete is the decision: of two requests racing with one
// state, exactly one gets the row; an expired row is removed without being used.
func (t *Tx) UseOIDCFlow(ctx context.Context, stateHash []byte, now time.Time) (*app.OIDCFlow, error) {
	var f app.OIDCFlow
	var expires time.Time
	err := t.tx.QueryRow(ctx, `DELETE FROM oidc_flows WHERE state = $1 RETURNING nonce, verifier, next, expires_at`,
		flowKey(stateHash)).Scan(&f.Nonce, &f.Verifier, &f.Next, &expires)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !now.Before(expires)) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// OIDCIdentity finds the person linked to a provider account.
func (t *Tx) OIDCIdentity(ctx context.Context, issuer, subject string) (string, error) {
	var person string
	err := t.tx.QueryRow(ctx, `SELECT person_id FROM oidc_identities WHERE issuer = $1 AND subject = $2`, issuer, subject).Scan(&person)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return person, err
}

// LinkOIDCIdentity links a provider account; the key decides between two racing links.
func (t *Tx) LinkOIDCIdentity(ctx context.Context, issuer, subject, person string, now time.Time) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO oidc_identities (issuer, subject, person_id, linked_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (issuer, subject) DO NOTHING`, issuer, subject, person, now)
	return tag.RowsAffected() == 1, err
}
