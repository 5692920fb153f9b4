// Package service is the console's composition root.
package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/console/internal/app"
	"github.com/copnet/copnet/services/console/internal/ports"
	"github.com/copnet/copnet/services/console/internal/projection"
)

// Name is the service's name and its database schema.
const Name = "console"

// Settings are the console's own settings, beyond config.Base.
type Settings struct {
	// APIURL is where the console forwards a hub's approve and decline to the registry's
	// POST /v1/cops/{id}/decision. Empty means this same HTTP server (the address the request
	// came in on), which is where the all-in-one serves the registry.
	APIURL string `envconfig:"COPNET_CONSOLE_API_URL"`
	// The organisation's OpenID provider, offered on the sign-in page (COPNET_OIDC_*).
	config.OIDC
}

// Validate implements config.Validator.
func (s Settings) Validate() error { return s.CheckOIDC() }

// Options override the environment; zero fields fall back to it.
type Options struct {
	// Verifier checks sign-in tokens (default: the node's verifier).
	Verifier httpx.Verifier
	// APIURL is the registry's base URL (default COPNET_CONSOLE_API_URL, else this server).
	APIURL string
}

// Service is the running console.
type Service struct {
	web    *ports.Web
	router *bus.Router
}

// New wires the console from its dependencies and the environment.
func New(ctx context.Context, d node.Deps) (node.Service, error) { return NewWith(Options{})(ctx, d) }

// NewWith returns a constructor that prefers o over the environment.
func NewWith(o Options) func(context.Context, node.Deps) (node.Service, error) {
	return func(_ context.Context, d node.Deps) (node.Service, error) {
		var cfg Settings
		if err := config.Load(&cfg); err != nil {
			return nil, fmt.Errorf("console config: %w", err)
		}
		if o.Verifier == nil {
			o.Verifier = d.Verifier
		}
		if o.Verifier == nil {
			return nil, errors.New("console: no token verifier to check sign-ins with")
		}
		if o.APIURL == "" {
			o.APIURL = cfg.APIURL
		}
		if o.APIURL != "" {
			if u, err := url.Parse(o.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("console config: COPNET_CONSOLE_API_URL %q must be an http(s) URL", o.APIURL)
			}
		}
		r, err := d.Bus.NewRouter(Name, d.Pool)
		if err != nil {
			return nil, err
		}
		store := projection.NewStore(d.Pool, d.Now)
		a := app.New(store)
		// Handler names are the durable consumers' names: renaming one replays the stream.
		bus.On(r, "on_region_created", a.OnRegionCreated)
		bus.On(r, "on_cop_proposed", a.OnCoPProposed)
		bus.On(r, "on_cop_approved", a.OnCoPApproved)
		bus.On(r, "on_cop_declined", a.OnCoPDeclined)
		bus.On(r, "on_cop_changes_requested", a.OnCoPChangesRequested)
		bus.On(r, "on_cop_resubmitted", a.OnCoPResubmitted)
		bus.On(r, "on_cop_retired", a.OnCoPRetired)
		bus.On(r, "on_charter_published", a.OnCharterPublished)
		bus.On(r, "on_stage_changed", a.OnStageChanged)
		bus.On(r, "on_member_joined", a.OnMemberJoined)
		bus.On(r, "on_member_left", a.OnMemberLeft)
		bus.On(r, "on_person_erased", a.OnPersonErased)
		bus.On(r, "on_session_scheduled", a.OnSessionScheduled)
		bus.On(r, "on_session_rescheduled", a.OnSessionRescheduled)
		bus.On(r, "on_session_cancelled", a.OnSessionCancelled)
		bus.On(r, "on_session_held", a.OnSessionHeld)
		bus.On(r, "on_attendance_recorded", a.OnAttendanceRecorded)
		bus.On(r, "on_participation_declining", a.OnParticipationDeclining)
		bus.On(r, "on_poll_opened", a.OnPollOpened)
		bus.On(r, "on_poll_closed", a.OnPollClosed)
		bus.On(r, "on_results_published", a.OnResultsPublished)
		bus.On(r, "on_stage_assessed", a.OnStageAssessed)
		bus.On(r, "on_project_mapped", a.OnProjectMapped)
		bus.On(r, "on_overlap_detected", a.OnOverlapDetected)
		bus.On(r, "on_overlap_resolved", a.OnOverlapResolved)
		bus.On(r, "on_gap_identified", a.OnGapIdentified)
		bus.On(r, "on_gap_filled", a.OnGapFilled)
		bus.On(r, "on_request_raised", a.OnRequestRaised)
		bus.On(r, "on_request_answered", a.OnRequestAnswered)
		var signIn ports.SignIn
		if cfg.Enabled() {
			signIn.OIDC = cfg.OIDCName
		}
		web := ports.NewWeb(store, o.Verifier, o.APIURL, signIn, d.Logger).WithPublicURL(d.PublicURL)
		return &Service{web: web, router: r}, nil
	}
}

// Register implements node.Service.
func (s *Service) Register(mux *http.ServeMux) { s.web.Register(mux) }

// Run implements node.Service: it keeps the projections up to date.
func (s *Service) Run(ctx context.Context) error {
	// Live sessions' streams end first: they would hold the HTTP server's graceful shutdown.
	context.AfterFunc(ctx, s.web.Stop)
	return s.router.Run(ctx)
}
