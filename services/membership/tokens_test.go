package membership_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/registry"
)

// tokenJSON is a personal API token as the API shows it.
type tokenJSON struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Grants    []httpx.Grant `json:"grants"`
	Status    string        `json:"status"`
	ExpiresAt time.Time     `json:"expires_at"`
	Token     string        `json:"token"`
}

// TestPersonalAPITokens: a signed-in person makes a token carrying some of their grants; it
// is shown once and kept as a hash; it works against another service's route (the
// registry's) until revoked, and after the revocation every service refuses it. A token
// cannot make tokens, nor carry a grant its person does not hold.
func TestPersonalAPITokens(t *testing.T) {
	e := start(t, registry.Factory)
	e.approve("vic", "cop-v", "cop-x")
	ana := e.register("Ana Token", "ana@example.org")
	e.join("cop-v", ana)
	session := e.person(ana) // the access token of Ana signed in

	// Only grants Ana holds, a name and an expiry from 1 to 365 days.
	e.do(session, "POST", "/v1/tokens", `{"name":"ci","grants":[{"role":"member","cop":"cop-x"}],"expires_in_days":30}`).problem(t, http.StatusForbidden)
	e.do(session, "POST", "/v1/tokens", `{"name":"ci","grants":[{"role":"national"}],"expires_in_days":30}`).problem(t, http.StatusForbidden)
	p := e.do(session, "POST", "/v1/tokens", `{"name":" ","grants":[{"role":"hub"}],"expires_in_days":366}`).problem(t, http.StatusBadRequest)
	if !slices.Equal(p.fields(), []string{"name", "expires_in_days", "grants[0]"}) {
		t.Errorf("fields %v", p.fields())
	}
	e.do(session, "POST", "/v1/tokens", `{"name":"ci","grants":[],"expires_in_days":0}`).problem(t, http.StatusBadRequest)
	// An operator's token names no registered person: it makes no personal token.
	e.do(e.national(), "POST", "/v1/tokens", `{"name":"ci","grants":[],"expires_in_days":1}`).problem(t, http.StatusForbidden)

	before := time.Now()
	var created tokenJSON
	e.must(http.StatusCreated, &created, session, "POST", "/v1/tokens", `{"name":"weekly report","grants":[{"role":"member","cop":"cop-v"}],"expires_in_days":90}`)
	if !strings.HasPrefix(created.ID, "pat_") || created.Token == "" || created.Status != "active" || created.Name != "weekly report" ||
		!slices.Equal(created.Grants, []httpx.Grant{{Role: httpx.RoleMember, CoP: "cop-v"}}) {
		t.Fatalf("created %+v", created)
	}
	if want := before.Add(90 * 24 * time.Hour); created.ExpiresAt.Before(want.Truncate(time.Second)) || created.ExpiresAt.After(want.Add(time.Minute)) {
		t.Errorf("expires at %v, want 90 days on (%v)", created.ExpiresAt, want)
	}
	// Stored as its SHA-256 only.
	var hash []byte
	var raw string
	if err := e.n.Pool("membership").QueryRow(context.Background(), `SELECT hash, row_to_json(api_tokens)::text FROM api_tokens WHERE id = $1`, created.ID).Scan(&hash, &raw); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(created.Token)); !slices.Equal(hash, sum[:]) || strings.Contains(raw, created.Token) {
		t.Errorf("the token is not kept as its hash only: %s", raw)
	}
	// Listed without the token.
	r := e.do(session, "GET", "/v1/tokens", "")
	var list struct{ Tokens []tokenJSON }
	decode(t, r, &list)
	if len(list.Tokens) != 1 || list.Tokens[0].ID != created.ID || list.Tokens[0].Token != "" || strings.Contains(string(r.body), created.Token) {
		t.Fatalf("%s", r)
	}

	// The token is Ana, with the grants it carries, at membership and at the registry.
	var me struct {
		Person struct{ ID string } `json:"person"`
		Token  struct {
			ID     string        `json:"id"`
			Grants []httpx.Grant `json:"grants"`
		} `json:"token"`
	}
	e.must(http.StatusOK, &me, created.Token, "GET", "/v1/me", "")
	if me.Person.ID != ana || me.Token.ID != created.ID || !slices.Equal(me.Token.Grants, created.Grants) {
		t.Errorf("/v1/me with the token: %+v", me)
	}
	e.must(http.StatusOK, nil, created.Token, "GET", "/v1/regions", "")
	// A personal API token cannot make more tokens.
	e.do(created.Token, "POST", "/v1/tokens", `{"name":"more","grants":[],"expires_in_days":1}`).problem(t, http.StatusForbidden)

	// Only Ana revokes it.
	other := e.register("Other Person", "other@example.org")
	e.do(e.person(other), "DELETE", "/v1/tokens/"+created.ID, "").problem(t, http.StatusForbidden)
	e.do(session, "DELETE", "/v1/tokens/pat_nope", "").problem(t, http.StatusNotFound)
	e.must(http.StatusNoContent, nil, session, "DELETE", "/v1/tokens/"+created.ID, "")
	ev := awaitEvent(e, "access_revoked", func(ev events.AccessRevoked) bool { return ev.TokenID == created.ID })
	if ev.PersonID != ana || ev.Reason != "token_revoked" || !ev.ExpiresAt.Equal(created.ExpiresAt) || !ev.NotBefore.IsZero() {
		t.Errorf("access_revoked %+v", ev)
	}
	// Every service refuses it once the event reaches it: the registry, and membership.
	testkit.Eventually(t, waitFor, func() error {
		if r := e.do(created.Token, "GET", "/v1/regions", ""); r.status != http.StatusUnauthorized {
			return fmt.Errorf("the registry still answers the revoked token: %s", r)
		}
		return nil
	})
	e.do(created.Token, "GET", "/v1/me", "").problem(t, http.StatusUnauthorized)
	// Ana's own session is untouched, and the list says what happened.
	e.must(http.StatusOK, &list, session, "GET", "/v1/tokens", "")
	if len(list.Tokens) != 1 || list.Tokens[0].Status != "revoked" {
		t.Errorf("after revoking: %+v", list.Tokens)
	}
	// Revoking again changes nothing and publishes nothing more (the outbox, written with
	// the change, says so at once).
	e.must(http.StatusNoContent, nil, session, "DELETE", "/v1/tokens/"+created.ID, "")
	var n int
	if err := e.n.Pool("membership").QueryRow(context.Background(), `SELECT count(*) FROM watermill_outbox
		WHERE payload->'metadata'->>'ce-type' = 'membership.access_revoked.v1'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d revocations in the outbox (%v), want 1", n, err)
	}
}
