// Package service is the knowledge service's composition root.
package service

import (
	"context"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/events"
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
	OverlapGapDays int `envconfig:"KNOWLEDGE_OVERLAP_GAP_DAYS" default:"30"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.OverlapGapDays < 1 || c.OverlapGapDays > 366 {
		return errors.New("KNOWLEDGE_OVERLAP_GAP_DAYS must be between 1 and 366")
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
	repo := adapters.NewRepository(d.Pool, d.Bus.Outbox(), d.NodeID, d.Tier, d.Now, domain.OverlapRule{GapDays: cfg.OverlapGapDays})
	r, err := d.Bus.NewRouter(Name, d.Pool)
	if err != nil {
		return nil, err
	}
	// Handler names are durable consumer names: renaming one replays the stream.
	bus.Handle(r, "on_cop_approved", func(ctx context.Context, tx pgx.Tx, ev events.CoPApproved, _ events.Envelope) error {
		return adapters.AcceptCoP(ctx, tx, ev)
	})
	// Every project_mapped, this node's and those sourced from child nodes, is where
	// overlaps are found.
	bus.Handle(r, "on_project_mapped", func(ctx context.Context, tx pgx.Tx, ev events.ProjectMapped, env events.Envelope) error {
		if err := repo.MapProject(ctx, tx, ev, env); err != nil {
			var input *adapters.BadInput
			if errors.As(err, &input) {
				return bus.Permanent(err)
			}
			return err
		}
		return nil
	})
	bus.Handle(r, "on_session_held", func(ctx context.Context, tx pgx.Tx, ev events.SessionHeld, _ events.Envelope) error {
		return repo.SessionHeld(ctx, tx, ev)
	})
	bus.Handle(r, "on_results_published", func(ctx context.Context, tx pgx.Tx, ev events.ResultsPublished, _ events.Envelope) error {
		d := adapters.Demand{PollID: ev.PollID, CoPID: ev.CoPID, Region: ev.Region}
		switch {
		case ev.Purpose == "learning_priorities" || ev.Kind == "ranking":
			d.Reason, d.Topics = domain.ReasonLearningPriority, domain.LearningPriorities(ev.Results)
		case ev.SessionID != "" && domain.ConfidenceIsLow(ev.Results):
			topics, err := adapters.SessionTopics(ctx, tx, ev.SessionID)
			if err != nil {
				return err
			}
			d.Reason, d.Topics = domain.ReasonLowConfidence, topics
		}
		if len(d.Topics) == 0 {
			return nil
		}
		return repo.RecordDemand(ctx, tx, d)
	})
	// Memberships, for who may act in a CoP and where experts are. Two consumers, so
	// ApplyMembership orders them by the envelope.
	bus.Handle(r, "on_member_joined", func(ctx context.Context, tx pgx.Tx, ev events.MemberJoined, env events.Envelope) error {
		return repo.ApplyMembership(ctx, tx, adapters.Membership{CoPID: ev.CoPID, PersonID: ev.PersonID, Region: ev.Region, Active: true, Envelope: env})
	})
	bus.Handle(r, "on_member_left", func(ctx context.Context, tx pgx.Tx, ev events.MemberLeft, env events.Envelope) error {
		return repo.ApplyMembership(ctx, tx, adapters.Membership{CoPID: ev.CoPID, PersonID: ev.PersonID, Region: ev.Region, Active: false, Envelope: env})
	})
	bus.Handle(r, "on_person_erased", func(ctx context.Context, tx pgx.Tx, ev events.PersonErased, _ events.Envelope) error {
		return repo.ErasePerson(ctx, tx, ev.PersonID)
	})
	return &Service{http: ports.NewHTTP(app.New(repo)), router: r}, nil
}

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) { s.http.Register(mux) }

// Run implements node.Service: it consumes events until ctx ends.
func (s *Service) Run(ctx context.Context) error { return s.router.Run(ctx) }
