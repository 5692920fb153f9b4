// Package service is the feedback service's composition root.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/feedback/domain"
	"github.com/copnet/copnet/services/feedback/internal/adapters"
	"github.com/copnet/copnet/services/feedback/internal/app"
	"github.com/copnet/copnet/services/feedback/internal/ports"
)

// Name is the service's name and its database schema.
const Name = "feedback"

// Settings are the feedback service's own settings, beyond config.Base.
type Settings struct {
	// CloseInterval is how often polls past their closing time are closed. Answers are
	// refused from the closing time on whatever this is; it only delays the results events.
	CloseInterval time.Duration `envconfig:"COPNET_FEEDBACK_CLOSE_INTERVAL" default:"1s"`
}

// Validate implements config.Validator.
func (s Settings) Validate() error {
	if s.CloseInterval <= 0 {
		return fmt.Errorf("COPNET_FEEDBACK_CLOSE_INTERVAL %s must be positive", s.CloseInterval)
	}
	return nil
}

// Service is the running feedback service.
type Service struct {
	app        *app.Application
	http       *ports.HTTP
	router     *bus.Router
	logger     *slog.Logger
	closeEvery time.Duration
	repo       *adapters.Repository
	live       *app.Live
}

// New wires the feedback service from its dependencies.
func New(ctx context.Context, d node.Deps) (node.Service, error) {
	var s Settings
	if err := config.Load(&s); err != nil {
		return nil, err
	}
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
	bus.On(r, "on_cop_approved", a.OnCoPApproved)
	bus.On(r, "on_member_joined", a.OnMemberJoined)
	bus.On(r, "on_member_left", a.OnMemberLeft)
	bus.On(r, "on_person_erased", a.OnPersonErased)
	bus.On(r, "on_session_held", a.OnSessionHeld)
	bus.On(r, "on_checkin_due", a.OnCheckinDue)
	live := app.NewLive()
	decks := app.NewDecks(a, repo, live)
	return &Service{app: a, http: ports.NewHTTP(a).WithDecks(decks), router: r, logger: d.Logger, closeEvery: s.CloseInterval,
		repo: repo, live: live}, nil
}

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) { s.http.Register(mux) }

// Run implements node.Service: it consumes events and closes polls when their time comes.
func (s *Service) Run(ctx context.Context) error {
	go s.closeDue(ctx)
	go s.listen(ctx)
	context.AfterFunc(ctx, s.live.Stop)
	return s.router.Run(ctx)
}

// listen wakes the live feeds whenever PostgreSQL says a presentation may have changed,
// listening again after a lost connection. Without it the feeds still answer, LiveWait
// late.
func (s *Service) listen(ctx context.Context) {
	node.Every(ctx, time.Second, s.logger, "listen for live changes", func(ctx context.Context) error {
		err := s.repo.Listen(ctx, s.live.Wake)
		if ctx.Err() != nil {
			return nil
		}
		return err
	})
}

// closeDue closes polls whose time is up. Only counts and errors are logged: a poll id next
// to a person is what the logs must never hold, and here there is no person at all.
func (s *Service) closeDue(ctx context.Context) {
	node.Every(ctx, s.closeEvery, s.logger, "close due polls", func(ctx context.Context) error {
		_, err := s.app.CloseDue(ctx)
		return err
	})
}
