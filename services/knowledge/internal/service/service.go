// Package service is the knowledge service's composition root: it only wires.
package service

import (
	"context"
	"errors"
	"net/http"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/knowledge/domain"
	"github.com/copnet/copnet/services/knowledge/internal/adapters"
	"github.com/copnet/copnet/services/knowledge/internal/app"
	"github.com/copnet/copnet/services/knowledge/internal/ports"
)

// Name is the service's name and its database schema.
const Name = "knowledge"

// Config is the knowledge service's own settings.
type Config struct {
	// OverlapGapDays: two engagements of one community less than this many days apart
	// are flagged as fatigue.
	OverlapGapDays int `envconfig:"COPNET_KNOWLEDGE_OVERLAP_GAP_DAYS" default:"30"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.OverlapGapDays < 1 || c.OverlapGapDays > 366 {
		return errors.New("COPNET_KNOWLEDGE_OVERLAP_GAP_DAYS must be between 1 and 366")
	}
	return nil
}

// Service is the running knowledge service.
type Service struct {
	http   *ports.HTTP
	router *bus.Router
}

// New wires the knowledge service from its dependencies.
func New(_ context.Context, d node.Deps) (node.Service, error) {
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		return nil, err
	}
	repo := adapters.NewRepository(d.Pool, d.Bus.Outbox(), d.NodeID, d.Now)
	a := app.New(repo, d.NodeID, d.Tier, domain.OverlapRule{GapDays: cfg.OverlapGapDays})
	r, err := d.Bus.NewRouter(Name, d.Pool)
	if err != nil {
		return nil, err
	}
	// Handler names are durable consumer names: renaming one replays the stream.
	bus.On(r, "on_cop_approved", a.OnCoPApproved)
	bus.On(r, "on_project_mapped", a.OnProjectMapped)
	bus.On(r, "on_session_held", a.OnSessionHeld)
	bus.On(r, "on_results_published", a.OnResultsPublished)
	bus.On(r, "on_member_joined", a.OnMemberJoined)
	bus.On(r, "on_member_left", a.OnMemberLeft)
	bus.On(r, "on_person_erased", a.OnPersonErased)
	return &Service{http: ports.NewHTTP(a), router: r}, nil
}

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) { s.http.Register(mux) }

// Run implements node.Service: it consumes events until ctx ends.
func (s *Service) Run(ctx context.Context) error { return s.router.Run(ctx) }
