package ports

// Single-use sign-in links. The all-in-one prints one on the first start of a data dir (and
// `copnet link` prints a fresh one), so an operator can open the console without a standing
// credential ever reaching a terminal's scrollback or a log.
//
// A link carries a ticket, not a token: "<payload>.<mac>", where payload is the base64url JSON
// of the claims, a random id and an expiry, and mac is HMAC-SHA256 under a key derived from
// the node's secret for this purpose only. Two segments and another key mean a ticket is never
// accepted as a bearer token and a bearer token is never accepted as a ticket.
//
// Opening the link (GET) changes nothing: it shows what the link is for and a Continue button,
// a form post carrying the console's CSRF token. The post records the ticket's id under a
// unique key in the console's schema and only then sets the session cookie, so a link signs in
// once, across restarts and against two browsers racing with it.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/httpx"
)

// SigninLinkPath is where a sign-in link points; its ticket travels in the query as TicketParam.
const (
	SigninLinkPath = "/signin/link"
	TicketParam    = "t"
)

// SessionTTL is how long a browser signed in by a link stays signed in.
const SessionTTL = 12 * time.Hour

// maxTicketLen bounds what is decoded from a URL: a real ticket is a few hundred bytes.
const maxTicketLen = 2048

// keptAfterExpiry is how long a used ticket's id is kept after the ticket expired. An expired
// ticket is refused by its expiry alone; the margin covers a clock stepped back.
const keptAfterExpiry = 7 * 24 * time.Hour

var (
	errTicketInvalid = errors.New("sign-in link is not valid")
	errTicketExpired = errors.New("sign-in link has expired")
)

// ticket is what a sign-in link stands for.
type ticket struct {
	ID      string        `json:"id"`
	Expires int64         `json:"exp"`
	Subject string        `json:"sub"`
	Grants  []httpx.Grant `json:"grants"`
}

func (t ticket) claims() httpx.Claims {
	return httpx.Claims{Subject: t.Subject, Grants: t.Grants}
}

// linkKey derives the tickets' key from the node's secret, so a ticket's MAC can never double
// as a JWT signature made with the secret itself.
func linkKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("copnet console sign-in link v1"))
	return m.Sum(nil)
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// SigninLink returns a link to the console at base that signs one browser in as c, once,
// within ttl of now. secret is the node's HS256 secret.
func SigninLink(secret []byte, base string, c httpx.Claims, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("sign-in link: empty secret")
	}
	if ttl <= 0 {
		return "", errors.New("sign-in link: ttl must be positive")
	}
	// Signing once checks that the claims are ones a session could carry, before anyone is
	// handed a link that could never work.
	if err := c.Validate(); err != nil {
		return "", err
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id) // crypto/rand never fails on supported platforms
	t := ticket{ID: hex.EncodeToString(id), Expires: now.Add(ttl).Unix(),
		Subject: c.Subject, Grants: c.Grants}
	return strings.TrimRight(base, "/") + SigninLinkPath + "?" + TicketParam + "=" + encodeTicket(linkKey(secret), t), nil
}

func encodeTicket(key []byte, t ticket) string {
	raw, _ := json.Marshal(t) // strings and numbers only: cannot fail
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload))
}

// parseTicket checks a ticket's MAC and expiry and returns what it stands for.
func parseTicket(key []byte, s string, now time.Time) (ticket, error) {
	if len(s) > maxTicketLen {
		return ticket{}, errTicketInvalid
	}
	payload, sig, ok := strings.Cut(s, ".")
	if !ok {
		return ticket{}, errTicketInvalid
	}
	// Strict: a signature has one spelling, so a ticket has one accepted form.
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, payload)) {
		return ticket{}, errTicketInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ticket{}, errTicketInvalid
	}
	var t ticket
	if err := json.Unmarshal(raw, &t); err != nil || len(t.ID) != 32 || t.Expires == 0 {
		return ticket{}, errTicketInvalid
	}
	if _, err := hex.DecodeString(t.ID); err != nil {
		return ticket{}, errTicketInvalid
	}
	if !now.Before(time.Unix(t.Expires, 0)) {
		return ticket{}, errTicketExpired
	}
	return t, nil
}

// signinLinks redeems tickets: it checks them with the derived key, records their ids in
// signin_links_used (migrations/005_signin_links.sql) and mints the session token.
type signinLinks struct {
	pool   *pgxpool.Pool
	key    []byte
	signer *access.Signer
	now    func() time.Time
}

// EnableSigninLinks lets the console redeem sign-in links made with SigninLink and secret,
// the node's HS256 secret (the console needs it to mint the session token a link stands
// for). Without it, links are refused and the paste-a-token form is the only way in.
func (w *Web) EnableSigninLinks(pool *pgxpool.Pool, secret []byte, signer *access.Signer, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	w.links = &signinLinks{pool: pool, key: linkKey(secret), signer: signer, now: now}
}

// used says whether the ticket was already redeemed, for the page a GET shows.
func (l *signinLinks) used(ctx context.Context, id string) (bool, error) {
	var used bool
	err := l.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signin_links_used WHERE id = $1)`, id).Scan(&used)
	return used, err
}

// redeem records the ticket as used and reports false if it already was. The insert is the
// decision: of two concurrent redemptions the unique key lets exactly one through.
func (l *signinLinks) redeem(ctx context.Context, t ticket) (bool, error) {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	tag, err := tx.Exec(ctx, `INSERT INTO signin_links_used (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
		t.ID, time.Unix(t.Expires, 0).UTC())
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	// Forgetting long-expired ids keeps the table as small as the links recently issued.
	if _, err := tx.Exec(ctx, `DELETE FROM signin_links_used WHERE expires_at < $1`, l.now().Add(-keptAfterExpiry).UTC()); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}

// linkPage is the page a sign-in link opens.
type linkPage struct {
	pageData
	Ticket string
	As     string
	Until  string
}

func (w *Web) renderLink(rw http.ResponseWriter, r *http.Request, status int, p linkPage) {
	p.Title = "Sign in with a link"
	p.CSRF = csrfToken(rw, r)
	w.pages.render(rw, r, status, "signinlink", p)
}

// linkProblem turns a ticket that cannot be used into the page that says why and what to do.
func (w *Web) linkProblem(rw http.ResponseWriter, r *http.Request, err error) {
	const again = " Ask for a new link: on the all-in-one, `copnet link` prints one."
	switch {
	case errors.Is(err, errTicketExpired):
		w.renderLink(rw, r, http.StatusGone, linkPage{pageData: pageData{Error: "This sign-in link has expired." + again}})
	case errors.Is(err, errTicketInvalid):
		w.renderLink(rw, r, http.StatusBadRequest, linkPage{pageData: pageData{Error: "This sign-in link is not valid. Check that you copied all of it." + again}})
	case errors.Is(err, errLinkUsed):
		w.renderLink(rw, r, http.StatusGone, linkPage{pageData: pageData{Error: "This sign-in link has already been used. A link signs in once." + again}})
	case errors.Is(err, errLinksDisabled):
		w.renderLink(rw, r, http.StatusNotFound, linkPage{pageData: pageData{Error: "This node does not take sign-in links. Sign in with a token instead."}})
	default:
		w.log.ErrorContext(r.Context(), "sign-in link", "error", err)
		w.renderLink(rw, r, http.StatusInternalServerError, linkPage{pageData: pageData{
			Error: "Something went wrong on our side; the link was not used. Try again in a moment, quoting the correlation id " +
				httpx.CorrelationID(r.Context()) + " if it keeps failing."}})
	}
}

var (
	errLinkUsed      = errors.New("sign-in link already used")
	errLinksDisabled = errors.New("sign-in links are not enabled")
)

// signinLinkPage shows what a link is for and the button that uses it. A GET changes nothing:
// a link opened by a preview, a crawler or another site's image tag signs nobody in.
func (w *Web) signinLinkPage(rw http.ResponseWriter, r *http.Request) {
	if w.links == nil {
		w.linkProblem(rw, r, errLinksDisabled)
		return
	}
	raw := r.URL.Query().Get(TicketParam)
	t, err := parseTicket(w.links.key, raw, w.links.now())
	if err != nil {
		w.linkProblem(rw, r, err)
		return
	}
	used, err := w.links.used(r.Context(), t.ID)
	if err == nil && used {
		err = errLinkUsed
	}
	if err != nil {
		w.linkProblem(rw, r, err)
		return
	}
	w.renderLink(rw, r, http.StatusOK, linkPage{Ticket: raw, As: describe(t.claims()),
		Until: time.Unix(t.Expires, 0).UTC().Format("15:04 UTC on 2 Jan 2006")})
}

// signinWithLink uses the link: CSRF first, then the ticket, then its single use.
func (w *Web) signinWithLink(rw http.ResponseWriter, r *http.Request) {
	if err := checkCSRF(r); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	if w.links == nil {
		w.linkProblem(rw, r, errLinksDisabled)
		return
	}
	t, err := parseTicket(w.links.key, r.PostFormValue(TicketParam), w.links.now())
	if err != nil {
		w.linkProblem(rw, r, err)
		return
	}
	// Minted before the ticket is spent, so a failure here leaves the link usable.
	session, err := w.links.signer.Sign(t.claims(), SessionTTL)
	if err != nil {
		w.linkProblem(rw, r, errTicketInvalid)
		return
	}
	fresh, err := w.links.redeem(r.Context(), t)
	if err == nil && !fresh {
		err = errLinkUsed
	}
	if err != nil {
		w.linkProblem(rw, r, err)
		return
	}
	w.setSession(rw, r, session)
	w.pages.render(rw, r, http.StatusOK, "signedin", pageData{Title: "Signed in"})
}

// describe says in words who a link signs in as.
func describe(c httpx.Claims) string {
	var parts []string
	for _, g := range c.Grants {
		parts = append(parts, g.String())
	}
	if len(parts) == 0 {
		return "a person with no grants"
	}
	return strings.Join(parts, ", ")
}
