// Package service is membership's composition root.
package service

import (
	"context"
	"net/http"
	"time"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/httpx"
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
}

// Service is the running membership service.
type Service struct {
	app    *app.Application
	http   *ports.HTTP
	router *bus.Router
	d      node.Deps
	sweep  time.Duration
}

// New wires membership from its dependencies.
func New(_ context.Context, d node.Deps) (node.Service, error) {
	var s Settings
	if err := config.Load(&s); err != nil {
		return nil, err
	}
	repo := adapters.NewRepository(d.Pool, d.Bus.Outbox())
	a := app.New(repo, d.Now, s.ConsentWindow)
	r, err := d.Bus.NewRouter(Name, d.Pool)
	if err != nil {
		return nil, err
	}
	// The handler names are durable consumer names: renaming one replays the stream.
	bus.On(r, "on_cop_approved", a.OnCoPApproved)
	bus.On(r, "on_charter_published", a.OnCharterPublished)
	bus.On(r, "on_cop_retired", a.OnCoPRetired)
	limiter := httpx.NewLimiter(s.SelfRegistrationEvery, s.SelfRegistrationBurst)
	return &Service{app: a, http: ports.NewHTTP(a, limiter), router: r, d: d, sweep: s.SweepInterval}, nil
}

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) { s.http.Register(mux) }

// Run implements node.Service: it consumes the registry's events and, beside them, settles
// consent windows and terms that have ended.
func (s *Service) Run(ctx context.Context) error {
	go s.sweepLoop(ctx)
	return s.router.Run(ctx)
}

func (s *Service) sweepLoop(ctx context.Context) {
	node.Every(ctx, s.sweep, s.d.Logger, "settle consent windows and terms", s.app.SettleDue)
}
