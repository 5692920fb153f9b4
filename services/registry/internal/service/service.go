// Package service is the registry's composition root.
package service

import (
	"context"
	"net/http"

	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/registry/internal/adapters"
	"github.com/copnet/copnet/services/registry/internal/app"
	"github.com/copnet/copnet/services/registry/internal/ports"
)

// Name is the service's name and its database schema.
const Name = "registry"

// Service is the running registry.
type Service struct {
	http *ports.HTTP
}

// New wires the registry from its dependencies.
func New(_ context.Context, d node.Deps) (node.Service, error) {
	repo := adapters.NewRepository(d.Pool, d.Bus.Outbox())
	return &Service{http: ports.NewHTTP(app.New(repo))}, nil
}

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) { s.http.Register(mux) }

// Run implements node.Service. The registry owns the onboarding state and consumes no
// events yet; it waits for shutdown.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
