package webhooks

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
)

// Settings shape the webhooks.
type Settings struct {
	Policy URLPolicy
	// Now is the clock: attempts are due when it passes their next_attempt_at, and their
	// times are recorded from it. Tests move it.
	Now func() time.Time
	// RetryBase is the wait after the first failed attempt, doubled after each further one
	// up to RetryCeiling.
	RetryBase, RetryCeiling time.Duration
	// MaxFailures failed attempts in a row disable an endpoint.
	MaxFailures int
	// Poll is how often the worker looks for due deliveries without being woken.
	Poll time.Duration
	// PublicURL is where the owner can look at the endpoint, for the mail.
	PublicURL string
	// MailQueued wakes the mail worker after an owner's mail was written.
	MailQueued func()
	Logger     *slog.Logger
}

// Hooks registers endpoints, turns events into deliveries and delivers them.
type Hooks struct {
	store  *store
	s      Settings
	client *http.Client
	wake   chan struct{}
}

// New returns the webhooks over pool (the notify schema).
func New(pool *pgxpool.Pool, s Settings) *Hooks {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.MailQueued == nil {
		s.MailQueued = func() {}
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		return s.Policy.dialControl(network, address)
	}}
	client := &http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConnsPerHost: 2},
		// A redirect is the receiver's answer, recorded as such: following it would send
		// the signed event somewhere nobody registered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Hooks{store: &store{pool: pool}, s: s, client: client, wake: make(chan struct{}, 1)}
}

// Routes are the webhook routes, added to notify's route table.
func (h *Hooks) Routes() []httpx.Route {
	return []httpx.Route{
		{Method: "POST", Path: "/v1/webhooks", Handle: h.register},
		{Method: "GET", Path: "/v1/webhooks", Handle: h.list},
		{Method: "GET", Path: "/v1/webhooks/{id}/deliveries", Handle: h.deliveries},
		{Method: "POST", Path: "/v1/webhooks/{id}/enable", Handle: h.enable},
		{Method: "DELETE", Path: "/v1/webhooks/{id}", Handle: h.remove},
	}
}

// OnEvent runs in the event consumer's transaction (ctx): it remembers which region a CoP
// is in, and writes one delivery for each active endpoint that subscribed to the event's
// type and whose scope the event is in. A redelivered event writes nothing new.
func (h *Hooks) OnEvent(ctx context.Context, payload json.RawMessage, env events.Envelope) error {
	if cop, region := copRegion(payload); cop != "" {
		if err := h.store.rememberCoP(ctx, cop, region); err != nil {
			return err
		}
	}
	endpoints, err := h.store.subscribed(ctx, env.Type)
	if err != nil || len(endpoints) == 0 {
		return err
	}
	regions, err := regionsOf(payload, func(cop string) (string, error) { return h.store.regionOf(ctx, cop) })
	if err != nil {
		return err
	}
	body, err := CloudEvent(env, payload)
	if err != nil {
		return err
	}
	now := h.s.Now()
	queued := false
	for _, e := range endpoints {
		// A hub's endpoint gets an event only when the event concerns its region.
		if e.Region != "" && !slices.Contains(regions, e.Region) {
			continue
		}
		if err := h.store.addDelivery(ctx, e.ID, env, body, now); err != nil {
			return err
		}
		queued = true
	}
	if queued {
		h.Wake()
	}
	return nil
}

// Wake makes the worker look for due deliveries now. The delivery may not be committed yet;
// the next poll finds it then.
func (h *Hooks) Wake() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// EndpointView is an endpoint as the API shows it; its secret is shown once, when made.
type EndpointView struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Region         string     `json:"region,omitempty"`
	EventTypes     []string   `json:"event_types"`
	Status         string     `json:"status"`
	Failures       int        `json:"failures"`
	CreatedAt      time.Time  `json:"created_at"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	Secret         string     `json:"secret,omitempty"`
}

func view(e Endpoint) EndpointView {
	v := EndpointView{ID: e.ID, URL: e.URL, Region: e.Region, EventTypes: e.EventTypes, Status: "active",
		Failures: e.Failures, CreatedAt: e.CreatedAt, DisabledAt: e.DisabledAt, DisabledReason: e.DisabledReason}
	if e.DisabledAt != nil {
		v.Status = "disabled"
	}
	return v
}

// DecodeRegistration reads and checks a registration body.
func DecodeRegistration(r *http.Request, p URLPolicy) (Registration, error) {
	var reg Registration
	if err := httpx.DecodeJSON(r, &reg); err != nil {
		return reg, err
	}
	return reg, reg.Validate(p)
}

func (h *Hooks) register(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	if !c.IsNational() && len(c.Scopes(httpx.RoleHub)) == 0 {
		return 0, nil, apperr.Forbidden("only the national secretariat and hubs register webhooks")
	}
	reg, err := DecodeRegistration(r, h.s.Policy)
	if err != nil {
		return 0, nil, err
	}
	if !c.IsNational() {
		// A hub's endpoint is always scoped to a region it holds: its only one by default.
		if reg.Region, err = c.Narrow(httpx.RoleHub, "region", reg.Region, "register webhooks"); err != nil {
			return 0, nil, err
		}
	}
	secret, err := NewSecret()
	if err != nil {
		return 0, nil, err
	}
	types := slices.Clone(reg.EventTypes)
	slices.Sort(types)
	e := Endpoint{ID: events.NewID(), OwnerID: c.Subject, Region: reg.Region, URL: reg.URL, Secret: secret,
		EventTypes: slices.Compact(types), CreatedAt: h.s.Now().UTC()}
	if err := h.store.addEndpoint(ctx, e); err != nil {
		return 0, nil, err
	}
	v := view(e)
	v.Secret = secret
	return http.StatusCreated, v, nil
}

// EndpointList is what GET /v1/webhooks answers.
type EndpointList struct {
	Endpoints []EndpointView `json:"endpoints"`
}

func (h *Hooks) list(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	if !c.IsNational() && len(c.Scopes(httpx.RoleHub)) == 0 {
		return 0, nil, apperr.Forbidden("only the national secretariat and hubs see webhooks")
	}
	all, err := h.store.endpoints(ctx)
	if err != nil {
		return 0, nil, err
	}
	out := EndpointList{Endpoints: []EndpointView{}}
	for _, e := range all {
		if mayManage(c, e.Region) {
			out.Endpoints = append(out.Endpoints, view(e))
		}
	}
	return http.StatusOK, out, nil
}

// endpointFor loads the endpoint of the route's {id} if c may manage it; one c may not
// see is "not found" rather than "forbidden", so ids of other regions are not confirmed.
func (h *Hooks) endpointFor(ctx context.Context, c httpx.Claims, r *http.Request) (Endpoint, error) {
	e, found, err := h.store.endpoint(ctx, r.PathValue("id"))
	if err != nil {
		return e, err
	}
	if !found || !mayManage(c, e.Region) {
		return e, apperr.NotFound("no webhook %q", r.PathValue("id"))
	}
	return e, nil
}

// DeliveryView is one delivery with its attempts.
type DeliveryView struct {
	EventID       string        `json:"event_id"`
	EventType     string        `json:"event_type"`
	CreatedAt     time.Time     `json:"created_at"`
	Status        string        `json:"status"`
	LastStatus    *int          `json:"last_status,omitempty"`
	LastError     string        `json:"last_error,omitempty"`
	DeliveredAt   *time.Time    `json:"delivered_at,omitempty"`
	NextAttemptAt *time.Time    `json:"next_attempt_at,omitempty"`
	Attempts      []AttemptView `json:"attempts"`
}

// AttemptView is one attempt at a delivery.
type AttemptView struct {
	At     time.Time `json:"at"`
	Status *int      `json:"status,omitempty"`
	Error  string    `json:"error,omitempty"`
}

// DeliveryList is what GET /v1/webhooks/{id}/deliveries answers: the latest first.
type DeliveryList struct {
	Endpoint   EndpointView   `json:"endpoint"`
	Deliveries []DeliveryView `json:"deliveries"`
}

func (h *Hooks) deliveries(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	e, err := h.endpointFor(ctx, c, r)
	if err != nil {
		return 0, nil, err
	}
	ds, err := h.store.deliveries(ctx, e.ID, 100)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, DeliveryList{Endpoint: view(e), Deliveries: ds}, nil
}

func (h *Hooks) enable(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	e, err := h.endpointFor(ctx, c, r)
	if err != nil {
		return 0, nil, err
	}
	if err := h.store.enable(ctx, e.ID, h.s.Now()); err != nil {
		return 0, nil, err
	}
	h.Wake()
	e.DisabledAt, e.DisabledReason, e.Failures = nil, "", 0
	return http.StatusOK, view(e), nil
}

func (h *Hooks) remove(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	e, err := h.endpointFor(ctx, c, r)
	if err != nil {
		return 0, nil, err
	}
	if err := h.store.removeEndpoint(ctx, e.ID); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// errorText keeps a recorded error short.
func errorText(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
