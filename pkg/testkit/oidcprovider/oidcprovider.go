// Package oidcprovider starts a real OpenID Connect provider inside a test: zitadel's
// OpenID provider library (github.com/zitadel/oidc/v3/pkg/op) with the in-memory
// storage and username/password login page that the library ships as its example server,
// served over plain HTTP on a free 127.0.0.1 port. Relying parties talk to it exactly as
// to Entra ID, Okta, Keycloak or Google: discovery, authorization code with PKCE, signed
// ID tokens, JWKS, userinfo.
//
// The example storage is used as it is except for three things it cannot be told from
// outside: clients and users come from the test (registered at any time, safely while
// requests run); ID tokens carry the profile and email claims even when an access token
// is issued too, as Keycloak, Entra ID and Google do; and email_verified is always stated,
// false included, where the library would leave a false one out.
package oidcprovider

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Selectors of the provider's sign-in page, which a browser reaches by following the
// authorization URL: fill UsernameField and PasswordField, click SubmitButton. A right
// password sends the browser on to the client's redirect URI with a code; a wrong one
// shows the sign-in page again with the message in LoginError (empty before an attempt).
const (
	UsernameField = "#username"
	PasswordField = "#password"
	SubmitButton  = `form button[type="submit"]`
	LoginError    = "form p"
)

// LoginPath is the path of the sign-in page under the issuer.
const LoginPath = "/login/username"

// Client is a confidential web application registered at the provider: it signs in people
// with the authorization code flow (PKCE allowed, not required) and authenticates at the
// token endpoint with its secret, by HTTP Basic or in the form.
type Client struct {
	ID           string
	Secret       string
	RedirectURIs []string
}

// User is a person who can sign in at the provider.
type User struct {
	// Subject is the sub claim; when empty, AddUser makes an opaque one, as real
	// providers do, so that a relying party cannot mistake it for the e-mail address.
	Subject string
	// Username is what the person types into UsernameField; it may be an e-mail address.
	Username      string
	Password      string
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
}

// Option registers something with the provider at Start.
type Option func(*Provider)

// WithClient registers c at Start.
func WithClient(c Client) Option { return func(p *Provider) { p.AddClient(c) } }

// WithUser registers u at Start.
func WithUser(u User) Option { return func(p *Provider) { p.AddUser(u) } }

// Provider is a running OpenID provider.
type Provider struct {
	t      testing.TB
	issuer string
	reg    *registry
}

// registry holds the clients and users that the test registered; the storage reads them
// while requests run, so every access holds mu.
type registry struct {
	mu      sync.Mutex
	clients map[string]Client
	users   map[string]*storage.User // by subject
}

// Start starts a provider on a free 127.0.0.1 port and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Provider {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("oidcprovider: listen: %v", err)
	}
	reg := &registry{clients: map[string]Client{}, users: map[string]*storage.User{}}
	p := &Provider{t: t, issuer: "http://" + l.Addr().String(), reg: reg}
	// The storage keeps the auth requests, codes, tokens and its RSA signing key; its own
	// client map stays empty because store answers the client look-ups.
	st := &store{Storage: storage.NewStorageWithClients(reg, map[string]*storage.Client{}), reg: reg}
	// A nil logger leaves the process's default logger alone. SetupServer allows the
	// http issuer (op.WithAllowInsecure) and serves the login page under /login/.
	handler := exampleop.SetupServer(p.issuer, st, nil, false)
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: handler}}
	srv.Start()
	t.Cleanup(srv.Close)
	for _, o := range opts {
		o(p)
	}
	return p
}

// Issuer is the provider's issuer URL (http://127.0.0.1:PORT, no trailing slash); its
// discovery document is at Issuer()+"/.well-known/openid-configuration".
func (p *Provider) Issuer() string { return p.issuer }

// AddClient registers c, replacing any client with its ID.
func (p *Provider) AddClient(c Client) {
	p.t.Helper()
	if c.ID == "" || c.Secret == "" || len(c.RedirectURIs) == 0 {
		p.t.Fatalf("oidcprovider: a client needs an ID, a secret and a redirect URI: %q, secret set %v, %v", c.ID, c.Secret != "", c.RedirectURIs)
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	p.reg.mu.Lock()
	defer p.reg.mu.Unlock()
	p.reg.clients[c.ID] = c
}

// AddUser registers u and returns its subject (the sub claim of its tokens).
func (p *Provider) AddUser(u User) (subject string) {
	p.t.Helper()
	if u.Username == "" || u.Password == "" {
		p.t.Fatalf("oidcprovider: a user needs a username and a password")
	}
	if u.Subject == "" {
		u.Subject = rand.Text()
	}
	p.reg.mu.Lock()
	defer p.reg.mu.Unlock()
	for _, other := range p.reg.users {
		if other.Username == u.Username {
			p.t.Fatalf("oidcprovider: username %q is taken", u.Username)
		}
	}
	if _, taken := p.reg.users[u.Subject]; taken {
		p.t.Fatalf("oidcprovider: subject %q is taken", u.Subject)
	}
	// Never changed after this, so the storage may read it while we hold no lock.
	p.reg.users[u.Subject] = &storage.User{
		ID:                u.Subject,
		Username:          u.Username,
		Password:          u.Password,
		FirstName:         u.GivenName,
		LastName:          u.FamilyName,
		Email:             u.Email,
		EmailVerified:     u.EmailVerified,
		PreferredLanguage: language.English,
	}
	return u.Subject
}

// GetUserByID implements storage.UserStore.
func (r *registry) GetUserByID(id string) *storage.User {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.users[id]
}

// GetUserByUsername implements storage.UserStore.
func (r *registry) GetUserByUsername(username string) *storage.User {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range r.users {
		if u.Username == username {
			return u
		}
	}
	return nil
}

// ExampleClientID implements storage.UserStore. The example storage trusts the demo key
// published with the library for this client ID (JWT profile grant); a fresh random ID
// makes that key useless here.
func (r *registry) ExampleClientID() string { return "unused-" + rand.Text() }

// client returns the registered client with the ID.
func (r *registry) client(id string) (Client, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.clients[id]
	return c, ok
}

// store is the example storage with clients and user claims from the registry.
type store struct {
	*storage.Storage
	reg *registry
}

// webClient is the example's web client with the ID token carrying the claims of the
// profile and email scopes.
type webClient struct{ *storage.Client }

func (webClient) IDTokenUserinfoClaimsAssertion() bool { return true }

// GetClientByClientID implements op.Storage.
func (s *store) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	c, ok := s.reg.client(clientID)
	if !ok {
		return nil, errors.New("client not found")
	}
	// storage.WebClient: code flow, secret by Basic auth (the form works too), and dev
	// mode, which allows http redirect URIs such as the tests' own servers.
	return webClient{storage.WebClient(c.ID, c.Secret, c.RedirectURIs...)}, nil
}

// AuthorizeClientIDSecret implements op.Storage.
func (s *store) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	c, ok := s.reg.client(clientID)
	if !ok || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(clientSecret)) != 1 {
		return errors.New("invalid client")
	}
	return nil
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: the claims of an ID
// token.
func (s *store) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		s.stateEmailVerified(info, req.GetSubject())
	}
	return nil
}

// SetUserinfoFromToken implements op.Storage: the userinfo endpoint's answer.
func (s *store) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	// The token's scopes are the storage's own; an e-mail in the answer means the email
	// scope was granted.
	if info.Email != "" {
		s.stateEmailVerified(info, subject)
	}
	return nil
}

// stateEmailVerified puts email_verified among the extra claims, which are written out
// whatever their value; the library's own field is dropped from the JSON when false.
func (s *store) stateEmailVerified(info *oidc.UserInfo, subject string) {
	if u := s.reg.GetUserByID(subject); u != nil {
		info.AppendClaims("email_verified", u.EmailVerified)
	}
}
