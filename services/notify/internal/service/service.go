// Package service is the notify service's composition root.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/mail"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/notify/domain"
	"github.com/copnet/copnet/services/notify/internal/adapters"
	"github.com/copnet/copnet/services/notify/internal/app"
	"github.com/copnet/copnet/services/notify/internal/ports"
	"github.com/copnet/copnet/services/notify/internal/webhooks"
)

// Name is the service's name and its database schema.
const Name = "notify"

// Settings are the notify service's own settings, beyond config.Base.
type Settings struct {
	// ReminderLead is how long before a session its members are reminded.
	ReminderLead time.Duration `envconfig:"COPNET_NOTIFY_REMINDER_LEAD" default:"168h"`
	// SweepInterval is how often due reminders and digests are looked for.
	SweepInterval time.Duration `envconfig:"COPNET_NOTIFY_SWEEP_INTERVAL" default:"1m"`
	// MailPoll is how often the mail worker looks for due mail (retries) unwoken.
	MailPoll time.Duration `envconfig:"COPNET_NOTIFY_MAIL_POLL" default:"5s"`
	// How people's mail is sent (COPNET_SMTP_URL, COPNET_MAIL_FROM).
	mail.Settings
	// WebhookAllowLoopback lets endpoints be http:// on loopback addresses, for tests and
	// nodes that serve only this machine (a loopback COPNET_PUBLIC_URL allows them too).
	// Otherwise only https to public addresses: no calls into the node's own network.
	WebhookAllowLoopback bool `envconfig:"COPNET_WEBHOOK_ALLOW_LOOPBACK" default:"false"`
	// WebhookRetryBase is the wait after a delivery's first failed attempt, doubled after
	// each further one (up to six hours).
	WebhookRetryBase time.Duration `envconfig:"COPNET_WEBHOOK_RETRY_BASE" default:"30s"`
	// WebhookMaxFailures failed attempts in a row disable an endpoint and mail its owner.
	WebhookMaxFailures int `envconfig:"COPNET_WEBHOOK_MAX_FAILURES" default:"5"`
	// WebhookPoll is how often due retries are looked for (new events wake the worker).
	WebhookPoll time.Duration `envconfig:"COPNET_WEBHOOK_POLL" default:"5s"`
}

// Validate implements config.Validator.
func (s Settings) Validate() error {
	if s.ReminderLead <= 0 {
		return fmt.Errorf("COPNET_NOTIFY_REMINDER_LEAD %s must be positive", s.ReminderLead)
	}
	if s.SweepInterval <= 0 {
		return fmt.Errorf("COPNET_NOTIFY_SWEEP_INTERVAL %s must be positive", s.SweepInterval)
	}
	if s.WebhookRetryBase <= 0 {
		return fmt.Errorf("COPNET_WEBHOOK_RETRY_BASE %s must be positive", s.WebhookRetryBase)
	}
	if s.WebhookPoll <= 0 {
		return fmt.Errorf("COPNET_WEBHOOK_POLL %s must be positive", s.WebhookPoll)
	}
	if s.WebhookMaxFailures < 1 {
		return fmt.Errorf("COPNET_WEBHOOK_MAX_FAILURES %d must be at least 1", s.WebhookMaxFailures)
	}
	return s.Settings.Validate()
}

// Service is the running notify service.
type Service struct {
	app    *app.Application
	http   *ports.HTTP
	router *bus.Router
	mail   *mail.Worker
	hooks  *webhooks.Hooks
	logger *slog.Logger
	sweep  time.Duration
	bus    *bus.Bus
	pool   *pgxpool.Pool
}

// New wires the notify service from its dependencies.
func New(ctx context.Context, d node.Deps) (node.Service, error) {
	var s Settings
	if err := config.Load(&s); err != nil {
		return nil, err
	}
	if err := mail.Migrate(ctx, d.Pool); err != nil {
		return nil, err
	}
	unsub, err := domain.NewUnsubscriber(d.Secret)
	if err != nil {
		return nil, err
	}
	repo := adapters.NewRepository(d.Pool)
	// Each mail once: recorded sent before the server ends its data (HandOverFirst), failed
	// mail kept for an operator to retry (KeepFailed). Notify's mail holds no sign-in links.
	mailer := &mail.Worker{Pool: d.Pool, Sender: s.Settings.Sender(d.DataDir), From: s.Settings.FromAddress(), Logger: d.Logger,
		Now: d.Now, Poll: s.MailPoll, HandOverFirst: true, KeepFailed: true}
	a := app.New(repo, unsub, app.Settings{Now: d.Now, ReminderLead: s.ReminderLead, PublicURL: strings.TrimRight(d.PublicURL, "/"),
		From: s.Settings.FromAddress(), MailQueued: mailer.Wake})
	r, err := d.Bus.NewRouter(Name, d.Pool)
	if err != nil {
		return nil, err
	}
	// Handler names are the durable consumers' names: renaming one replays the stream.
	bus.On(r, "on_person_erased", a.OnPersonErased)
	bus.On(r, "on_cop_proposed", a.OnCoPProposed)
	bus.On(r, "on_cop_approved", a.OnCoPApproved)
	bus.On(r, "on_cop_declined", a.OnCoPDeclined)
	bus.On(r, "on_cop_changes_requested", a.OnCoPChangesRequested)
	bus.On(r, "on_cop_resubmitted", a.OnCoPResubmitted)
	bus.On(r, "on_charter_published", a.OnCharterPublished)
	bus.On(r, "on_member_joined", a.OnMemberJoined)
	bus.On(r, "on_member_left", a.OnMemberLeft)
	bus.On(r, "on_grant_given", a.OnGrantGiven)
	bus.On(r, "on_grant_withdrawn", a.OnGrantWithdrawn)
	bus.On(r, "on_expertise_declared", a.OnExpertiseDeclared)
	bus.On(r, "on_session_scheduled", a.OnSessionScheduled)
	bus.On(r, "on_session_rescheduled", a.OnSessionRescheduled)
	bus.On(r, "on_session_cancelled", a.OnSessionCancelled)
	bus.On(r, "on_roles_assigned", a.OnRolesAssigned)
	bus.On(r, "on_participation_declining", a.OnParticipationDeclining)
	bus.On(r, "on_overlap_detected", a.OnOverlapDetected)
	bus.On(r, "on_request_raised", a.OnRequestRaised)
	bus.On(r, "on_request_answered", a.OnRequestAnswered)
	bus.On(r, "on_checkin_due", a.OnCheckinDue)
	bus.On(r, "on_poll_opened", a.OnPollOpened)
	bus.On(r, "on_gap_identified", a.OnGapIdentified)
	publicURL := strings.TrimRight(d.PublicURL, "/")
	hooks := webhooks.New(d.Pool, webhooks.Settings{
		Policy: webhooks.URLPolicy{AllowLoopback: s.WebhookAllowLoopback || loopbackURL(publicURL)},
		Now:    d.Now, RetryBase: s.WebhookRetryBase, MaxFailures: s.WebhookMaxFailures, Poll: s.WebhookPoll,
		PublicURL: publicURL, MailQueued: mailer.Wake, Logger: d.Logger})
	bus.OnAny(r, "webhooks", hooks.OnEvent)
	return &Service{app: a, http: ports.NewHTTP(a).WithWebhooks(hooks), router: r, mail: mailer, hooks: hooks,
		logger: d.Logger, sweep: s.SweepInterval, bus: d.Bus, pool: d.Pool}, nil
}

// loopbackURL says the node serves only this machine (its public URL is a loopback one).
func loopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) { s.http.Register(mux) }

// Run implements node.Service: it consumes events, sends due reminders and digests, and
// delivers the mail outbox.
func (s *Service) Run(ctx context.Context) error {
	go func() {
		if err := s.mail.Run(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("mail worker stopped", "error", err)
		}
	}()
	go node.Every(ctx, s.sweep, s.logger, "send due reminders and digests", s.app.SendDue)
	go s.contacts(ctx)
	go s.hooks.Run(ctx) //nolint:errcheck // returns only when ctx ends
	return s.router.Run(ctx)
}

// contacts applies the contact details membership shares on the node-private channel,
// each in a transaction of its own.
func (s *Service) contacts(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.bus.ConsumePrivate(ctx, "notify_contacts", s.bus.PrivateSubject("contact", ">"), func(ctx context.Context, subject string, data []byte) error {
			return postgres.Tx(ctx, s.pool, func(tx pgx.Tx) error {
				return s.app.OnContact(postgres.WithTx(ctx, tx), subject, data)
			})
		})
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("contact details channel failed; reconnecting", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}
