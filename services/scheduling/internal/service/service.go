// Package service is scheduling's composition root.
package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strings"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/scheduling/domain"
	"github.com/copnet/copnet/services/scheduling/internal/adapters"
	"github.com/copnet/copnet/services/scheduling/internal/app"
	"github.com/copnet/copnet/services/scheduling/internal/ports"
)

// Name is the service's name and its database schema.
const Name = "scheduling"

// Config is scheduling's own settings.
type Config struct {
	// DeclineWindow is how many held sessions at the start and at the end are compared.
	DeclineWindow int `envconfig:"COPNET_SCHEDULING_DECLINE_WINDOW" default:"3"`
	// DeclineDrop is the fall (a fraction of the early rate) that counts as declining.
	DeclineDrop float64 `envconfig:"COPNET_SCHEDULING_DECLINE_DROP" default:"0.3"`
	// OrganizerEmail is the address calendar events name as their ORGANIZER (with the CoP
	// as its name). Nobody should reply to a feed, so by default it is no-reply at the
	// host of the node's public URL, or at a reserved .invalid domain for a node without
	// a DNS name.
	OrganizerEmail string `envconfig:"COPNET_SCHEDULING_ORGANIZER_EMAIL"`
}

// Validate reports every setting that cannot work (config.Load calls it).
func (cfg Config) Validate() error {
	var errs []error
	if err := cfg.declineRule().Validate(); err != nil {
		errs = append(errs, err)
	}
	if cfg.OrganizerEmail != "" {
		if _, err := organizer(cfg, node.Deps{}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (cfg Config) declineRule() domain.DeclineRule {
	return domain.DeclineRule{Window: cfg.DeclineWindow, Drop: cfg.DeclineDrop}
}

// organizer is the configured ORGANIZER address or the node's no-reply one.
func organizer(cfg Config, d node.Deps) (string, error) {
	if cfg.OrganizerEmail != "" {
		a, err := mail.ParseAddress(cfg.OrganizerEmail)
		if err != nil || a.Name != "" || a.Address != cfg.OrganizerEmail {
			return "", fmt.Errorf("COPNET_SCHEDULING_ORGANIZER_EMAIL %q must be a bare e-mail address", cfg.OrganizerEmail)
		}
		return a.Address, nil
	}
	if u, err := url.Parse(d.PublicURL); err == nil && strings.Contains(u.Hostname(), ".") && net.ParseIP(u.Hostname()) == nil {
		return "no-reply@" + u.Hostname(), nil
	}
	node := d.NodeID
	if node == "" {
		node = "copnet"
	}
	return "no-reply@" + node + ".copnet.invalid", nil
}

// Service is the running scheduling service.
type Service struct {
	http   *ports.HTTP
	router *bus.Router
}

// New wires scheduling from its dependencies and its environment settings.
func New(_ context.Context, d node.Deps) (node.Service, error) {
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		return nil, fmt.Errorf("scheduling config: %w", err)
	}
	return NewWithConfig(d, cfg)
}

// NewWithConfig wires scheduling with explicit settings (tests vary the decline rule).
func NewWithConfig(d node.Deps, cfg Config) (node.Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("scheduling config: %w", err)
	}
	from, err := organizer(cfg, d)
	if err != nil {
		return nil, fmt.Errorf("scheduling config: %w", err)
	}
	a := app.New(adapters.NewRepository(d.Pool, d.Bus.Outbox()), d.Now, cfg.declineRule())
	r, err := d.Bus.NewRouter(Name, d.Pool)
	if err != nil {
		return nil, err
	}
	// Handler names are durable consumer names: renaming one replays the stream.
	bus.On(r, "on_cop_proposed", a.OnCoPProposed)
	bus.On(r, "on_cop_approved", a.OnCoPApproved)
	bus.On(r, "on_cop_retired", a.OnCoPRetired)
	bus.On(r, "on_member_joined", a.OnMemberJoined)
	bus.On(r, "on_member_left", a.OnMemberLeft)
	bus.On(r, "on_removal_carried", a.OnRemovalCarried)
	bus.On(r, "on_person_erased", a.OnPersonErased)
	feeds := ports.Feeds{PublicURL: d.PublicURL, Organizer: from}
	return &Service{http: ports.NewHTTP(a, d.Now, feeds), router: r}, nil
}

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) { s.http.Register(mux) }

// Run implements node.Service: it consumes registry and membership events until ctx ends.
func (s *Service) Run(ctx context.Context) error { return s.router.Run(ctx) }
