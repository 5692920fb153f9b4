// Package service is membership's composition root.
package service

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/mail"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/membership/internal/adapters"
	"github.com/copnet/copnet/services/membership/internal/app"
	"github.com/copnet/copnet/services/membership/internal/ports"
)

// Name is the service's name and its database schema.
const Name = "membership"

// Settings are membership's own, from the environment.
type Settings struct {
	// ConsentWindow is how long working-group members may object to a coordinator.
	ConsentWindow time.Duration `envconfig:"COPNET_MEMBERSHIP_CONSENT_WINDOW" default:"168h"`
	// SweepInterval is how often ended consent windows and terms are settled without
	// waiting for someone to touch them.
	SweepInterval time.Duration `envconfig:"COPNET_MEMBERSHIP_SWEEP_INTERVAL" default:"1m"`
	// SelfRegistrationEvery and SelfRegistrationBurst limit registrations without a token
	// per client address.
	SelfRegistrationEvery time.Duration `envconfig:"COPNET_MEMBERSHIP_SELF_REGISTRATION_EVERY" default:"10s"`
	SelfRegistrationBurst int           `envconfig:"COPNET_MEMBERSHIP_SELF_REGISTRATION_BURST" default:"5"`
	// SelfRegistration lets people without an account or invitation register themselves
	// (POST /v1/people without a token, or signing in by e-mail or OpenID Connect).
	SelfRegistration bool `envconfig:"COPNET_MEMBERSHIP_SELF_REGISTRATION" default:"true"`
	// SessionIdle ends a browser session unused this long; SessionMax ends any session.
	SessionIdle time.Duration `envconfig:"COPNET_MEMBERSHIP_SESSION_IDLE" default:"168h"`
	SessionMax  time.Duration `envconfig:"COPNET_MEMBERSHIP_SESSION_MAX" default:"720h"`
	// PasskeyLoginEvery and PasskeyLoginBurst limit passkey sign-in ceremonies begun per
	// client address (each one is a row kept for five minutes).
	PasskeyLoginEvery time.Duration `envconfig:"COPNET_MEMBERSHIP_PASSKEY_LOGIN_EVERY" default:"2s"`
	PasskeyLoginBurst int           `envconfig:"COPNET_MEMBERSHIP_PASSKEY_LOGIN_BURST" default:"10"`
	// How sign-in links and invitations are sent (COPNET_SMTP_URL, COPNET_MAIL_FROM).
	mail.Settings
	// The organisation's OpenID provider, if any (COPNET_OIDC_*).
	config.OIDC
}

// Validate implements config.Validator.
func (s Settings) Validate() error { return errors.Join(s.Settings.Validate(), s.CheckOIDC()) }

// Service is the running membership service.
type Service struct {
	app    *app.Application
	http   *ports.HTTP
	auth   *ports.Auth
	pk     *ports.Passkeys
	invite *ports.InvitationFlows
	oidc   *ports.OIDC
	router *bus.Router
	d      node.Deps
	sweep  time.Duration
	mail   *mail.Worker
	// mailPage shows kept mail when there is no SMTP server.
	mailPage http.Handler
}

// New wires membership from its dependencies.
func New(ctx context.Context, d node.Deps) (node.Service, error) {
	var s Settings
	if err := config.Load(&s); err != nil {
		return nil, err
	}
	if d.Signer == nil {
		return nil, errors.New("membership issues access tokens and needs the node secret (COPNET_AUTH_SECRET)")
	}
	if err := mail.Migrate(ctx, d.Pool); err != nil {
		return nil, err
	}
	repo := adapters.NewRepository(d.Pool, d.Bus.Outbox())
	a := app.New(repo, d.Now, s.ConsentWindow)
	mailer := &mail.Worker{Pool: d.Pool, Sender: s.Settings.Sender(d.DataDir), From: s.Settings.FromAddress(), Logger: d.Logger}
	id := a.EnableIdentity(d.Signer, d.Secret, app.IdentitySettings{PublicURL: d.PublicURL,
		SelfRegistration: s.SelfRegistration, SessionIdle: s.SessionIdle, SessionMax: s.SessionMax, MailQueued: mailer.Wake})
	d.Logger.Info(s.Settings.Describe(d.DataDir, strings.TrimRight(d.PublicURL, "/")+MailPagePath))
	r, err := d.Bus.NewRouter(Name, d.Pool)
	if err != nil {
		return nil, err
	}
	// The handler names are durable consumer names: renaming one replays the stream.
	bus.On(r, "on_cop_approved", a.OnCoPApproved)
	bus.On(r, "on_charter_published", a.OnCharterPublished)
	bus.On(r, "on_cop_retired", a.OnCoPRetired)
	limiter := httpx.NewLimiter(s.SelfRegistrationEvery, s.SelfRegistrationBurst)
	signins := httpx.NewLimiter(s.SelfRegistrationEvery, s.SelfRegistrationBurst)
	auth := ports.NewAuth(id, d.Verifier, signins, d.Logger)
	svc := &Service{app: a, http: ports.NewHTTP(a, limiter), auth: auth, invite: ports.NewInvitationFlows(auth, a),
		router: r, d: d, sweep: s.SweepInterval, mail: mailer}
	pk, off := id.EnablePasskeys()
	if off != nil {
		d.Logger.Info("passkeys are off", "reason", off.Error())
	}
	svc.pk = ports.NewPasskeys(svc.auth, pk, off, httpx.NewLimiter(s.PasskeyLoginEvery, s.PasskeyLoginBurst))
	// Sign-in with the organisation's OpenID provider; the provider is discovered at the
	// first sign-in, so it may start after copnet.
	var provider app.OIDCProvider
	if s.OIDC.Enabled() {
		provider = adapters.NewOIDC(adapters.OIDCSettings{Issuer: s.OIDCIssuer, ClientID: s.OIDCClientID,
			ClientSecret: s.OIDCClientSecret, RedirectURL: strings.TrimRight(d.PublicURL, "/") + ports.OIDCCallbackPath})
		d.Logger.Info("sign-in with an OpenID provider is offered", "issuer", s.OIDCIssuer)
	}
	svc.oidc = ports.NewOIDC(svc.auth, id.OIDC(provider), d.Logger)
	if s.Settings.SMTPURL == "" {
		svc.mailPage = mail.LoopbackPage(mail.Dir{Path: mail.MailDir(d.DataDir)})
	}
	return svc, nil
}

// MailPagePath shows the mail kept without an SMTP server, to this machine only.
const MailPagePath = "/dev/mail"

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) {
	s.http.Register(mux)
	s.auth.Register(mux)
	s.pk.Register(mux)
	s.invite.Register(mux)
	s.oidc.Register(mux)
	mux.Handle("GET "+access.JWKSPath, access.JWKSHandler(s.d.Signer.Public()))
	if s.mailPage != nil {
		mux.Handle("GET "+MailPagePath, s.mailPage)
	}
}

// Run implements node.Service: it consumes the registry's events and, beside them, settles
// consent windows and terms that have ended.
func (s *Service) Run(ctx context.Context) error {
	go s.sweepLoop(ctx)
	go s.shareContacts(ctx)
	go func() {
		if err := s.mail.Run(ctx); err != nil && ctx.Err() == nil {
			s.d.Logger.Error("mail worker stopped", "error", err)
		}
	}()
	return s.router.Run(ctx)
}

func (s *Service) sweepLoop(ctx context.Context) {
	node.Every(ctx, s.sweep, s.d.Logger, "settle consent windows and terms", s.app.SettleDue)
}

// shareContacts keeps notify's copy of people's contact details current, over the
// node-private channel (adapters.ShareContacts).
func (s *Service) shareContacts(ctx context.Context) {
	nc, err := s.d.Bus.Connect("copnet-membership-contacts")
	if err != nil {
		s.d.Logger.Error("contact details are not shared with notify", "error", err)
		return
	}
	defer nc.Close()
	node.Every(ctx, time.Second, s.d.Logger, "share contact details", func(ctx context.Context) error {
		_, err := adapters.ShareContacts(ctx, s.d.Pool, s.d.Bus, nc)
		return err
	})
}
