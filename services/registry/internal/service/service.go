// Package service is the registry's composition root.
package service

import (
	"context"
	"net/http"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/registry/internal/adapters"
	"github.com/copnet/copnet/services/registry/internal/app"
	"github.com/copnet/copnet/services/registry/internal/ports"
)

// Name is the service's name and its database schema.
const Name = "registry"

// Service is the running registry.
type Service struct {
	http   *ports.HTTP
	router *bus.Router
}

// New wires the registry from its dependencies.
func New(_ context.Context, d node.Deps) (node.Service, error) {
	repo := adapters.NewRepository(d.Pool, d.Bus.Outbox())
	a := app.New(repo)
	r, err := d.Bus.NewRouter(Name, d.Pool)
	if err != nil {
		return nil, err
	}
	// Handler names are durable consumer names: renaming one replays the stream.
	bus.On(r, "on_person_erased", a.OnPersonErased)
	return &Service{http: ports.NewHTTP(a), router: r}, nil
}

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) { s.http.Register(mux) }

// Run implements node.Service. The registry owns the onboarding state; the one event it
// consumes is an erasure, which scrubs the person's applications.
func (s *Service) Run(ctx context.Context) error { return s.router.Run(ctx) }
