// Package service is the feedback service's composition root.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/feedback/domain"
	"github.com/copnet/copnet/services/feedback/internal/adapters"
	"github.com/copnet/copnet/services/feedback/internal/app"
	"github.com/copnet/copnet/services/feedback/internal/ports"
)

// Name is the service's name and its database schema.
const Name = "feedback"

// closeEvery is how often polls past their closing time are closed. Answers are refused
// from the closing time on whatever this is; it only delays the results events.
const closeEvery = time.Second

// Service is the running feedback service.
type Service struct {
	app    *app.Application
	http   *ports.HTTP
	router *bus.Router
	logger *slog.Logger
}

// New wires the feedback service from its dependencies.
func New(ctx context.Context, d node.Deps) (node.Service, error) {
	keys, err := domain.NewKeys(d.Secret)
	if err != nil {
		return nil, err
	}
	repo := adapters.NewRepository(d.Pool, d.Bus.Outbox(), keys)
	if err := repo.MoveLegacyIssuance(ctx); err != nil {
		return nil, fmt.Errorf("feedback: hashing issuance recorded before sealed answers: %w", err)
	}
	a := app.New(repo, keys, d.Now)
	r, err := d.Bus.NewRouter(Name, d.Pool)
	if err != nil {
		return nil, err
	}
	// Handler names are the durable consumers' names: renaming one replays the stream.
	bus.Handle(r, "on_cop_approved", a.OnCoPApproved)
	bus.Handle(r, "on_member_joined", a.OnMemberJoined)
	bus.Handle(r, "on_member_left", a.OnMemberLeft)
	bus.Handle(r, "on_person_erased", a.OnPersonErased)
	bus.Handle(r, "on_session_held", a.OnSessionHeld)
	bus.Handle(r, "on_checkin_due", a.OnCheckinDue)
	return &Service{app: a, http: ports.NewHTTP(a), router: r, logger: d.Logger}, nil
}

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) { s.http.Register(mux) }

// Run implements node.Service: it consumes events and closes polls when their time comes.
func (s *Service) Run(ctx context.Context) error {
	go s.closeDue(ctx)
	return s.router.Run(ctx)
}

func (s *Service) closeDue(ctx context.Context) {
	t := time.NewTicker(closeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Only counts and the error are logged: a poll id next to a person is what the
			// logs must never hold, and here there is no person at all.
			if _, err := s.app.CloseDue(ctx); err != nil && ctx.Err() == nil {
				s.logger.WarnContext(ctx, "closing due polls failed", "error", err)
			}
		}
	}
}
