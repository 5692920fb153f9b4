// Package service is the notify service's composition root.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/mail"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/notify/internal/adapters"
	"github.com/copnet/copnet/services/notify/internal/app"
	"github.com/copnet/copnet/services/notify/internal/ports"
)

// Name is the service's name and its database schema.
const Name = "notify"

// Settings are the notify service's own settings, beyond config.Base.
type Settings struct {
	// ReminderLead is how long before a session its members are reminded.
	ReminderLead time.Duration `envconfig:"COPNET_NOTIFY_REMINDER_LEAD" default:"168h"`
	// SweepInterval is how often due reminders and digests are looked for.
	SweepInterval time.Duration `envconfig:"COPNET_NOTIFY_SWEEP_INTERVAL" default:"1m"`
	// How people's mail is sent (COPNET_SMTP_URL, COPNET_MAIL_FROM).
	mail.Settings
}

// Validate implements config.Validator.
func (s Settings) Validate() error {
	if s.ReminderLead <= 0 {
		return fmt.Errorf("COPNET_NOTIFY_REMINDER_LEAD %s must be positive", s.ReminderLead)
	}
	if s.SweepInterval <= 0 {
		return fmt.Errorf("COPNET_NOTIFY_SWEEP_INTERVAL %s must be positive", s.SweepInterval)
	}
	return s.Settings.Validate()
}

// Service is the running notify service.
type Service struct {
	app    *app.Application
	http   *ports.HTTP
	router *bus.Router
	mail   *mail.Worker
	logger *slog.Logger
	sweep  time.Duration
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
	repo := adapters.NewRepository(d.Pool)
	mailer := &mail.Worker{Pool: d.Pool, Sender: s.Settings.Sender(d.DataDir), From: s.Settings.FromAddress(), Logger: d.Logger}
	a := app.New(repo, app.Settings{Now: d.Now, ReminderLead: s.ReminderLead, PublicURL: strings.TrimRight(d.PublicURL, "/"),
		Secret: d.Secret, MailQueued: mailer.Wake})
	r, err := d.Bus.NewRouter(Name, d.Pool)
	if err != nil {
		return nil, err
	}
	// Handler names are the durable consumers' names: renaming one replays the stream.
	bus.On(r, "on_person_erased", a.OnPersonErased)
	return &Service{app: a, http: ports.NewHTTP(a), router: r, mail: mailer, logger: d.Logger, sweep: s.SweepInterval}, nil
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
	return s.router.Run(ctx)
}
