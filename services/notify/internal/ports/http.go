// Package ports exposes the notify service over HTTP: JSON under /v1, and the unsubscribe
// page that mail links to.
package ports

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/notify/domain"
	"github.com/copnet/copnet/services/notify/internal/app"
	"github.com/copnet/copnet/services/notify/internal/webhooks"
)

// Route is one HTTP route; the table is also checked against schemas/openapi/notify.yaml.
type Route = httpx.Route

// HTTP serves the notify service's routes.
type HTTP struct {
	app *app.Application
	// hooks serves the webhook routes (internal/webhooks); nil lists them all the same.
	hooks *webhooks.Hooks
}

// NewHTTP returns the HTTP port over the application.
func NewHTTP(a *app.Application) *HTTP { return &HTTP{app: a} }

// WithWebhooks adds the webhook routes to the table.
func (h *HTTP) WithWebhooks(hooks *webhooks.Hooks) *HTTP {
	h.hooks = hooks
	return h
}

// Routes lists every JSON route of people's mail, then the webhook routes (internal/webhooks;
// listed even without hooks, for the OpenAPI and access tests).
func (h *HTTP) Routes() []Route {
	return append([]Route{
		{Method: "GET", Path: "/v1/me/notifications", Handle: h.preferences},
		{Method: "PUT", Path: "/v1/me/notifications", Handle: h.setPreferences},
		{Method: "GET", Path: "/v1/mail/dead-letters", Handle: h.deadLetters},
		{Method: "POST", Path: "/v1/mail/dead-letters/{id}/retry", Handle: h.retry},
	}, h.hooks.Routes()...)
}

// Register mounts the routes and the unsubscribe page on mux.
func (h *HTTP) Register(mux *http.ServeMux) {
	httpx.Mount(mux, h.Routes())
	mux.HandleFunc("GET "+app.UnsubscribePath, h.unsubscribePage)
	mux.HandleFunc("POST "+app.UnsubscribePath, h.unsubscribe)
}

// PreferencesView is the caller's cadences.
type PreferencesView struct {
	Preferences []app.Preference `json:"preferences"`
}

func (h *HTTP) preferences(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	p, err := h.app.Preferences(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, PreferencesView{p}, nil
}

func (h *HTTP) setPreferences(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return 0, nil, apperr.Invalid("body", "could not be read")
	}
	prefs, err := DecodePreferences(body)
	if err != nil {
		return 0, nil, err
	}
	p, err := h.app.SetPreferences(ctx, c, prefs)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, PreferencesView{p}, nil
}

// DecodePreferences reads {"preferences": {"<kind>": "<cadence>", ...}}: every kind and
// cadence must be known, and all problems are named at once.
func DecodePreferences(body []byte) (map[domain.Kind]domain.Cadence, error) {
	var in struct {
		Preferences map[string]string `json:"preferences"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, apperr.Invalid("body", "must be a JSON object such as {\"preferences\": {\"session_reminder\": \"weekly\"}}")
	}
	if len(in.Preferences) == 0 {
		return nil, apperr.Invalid("preferences", "must name at least one kind of notice")
	}
	out := map[domain.Kind]domain.Cadence{}
	var fields []apperr.FieldError
	for k, v := range in.Preferences {
		kind, err := domain.ParseKind(k)
		if err != nil {
			fields = append(fields, apperr.FieldError{Field: "preferences." + k, Message: err.Error()})
			continue
		}
		c, err := domain.ParseCadence(v)
		if err != nil {
			fields = append(fields, apperr.FieldError{Field: "preferences." + k, Message: err.Error()})
			continue
		}
		out[kind] = c
	}
	if len(fields) > 0 {
		return nil, apperr.InvalidFields(fields...)
	}
	return out, nil
}

func (h *HTTP) deadLetters(ctx context.Context, c httpx.Claims, _ *http.Request) (int, any, error) {
	d, err := h.app.DeadLetters(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"dead_letters": d}, nil
}

func (h *HTTP) retry(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, nil, apperr.Invalid("id", "must be a dead letter's number")
	}
	if err := h.app.Retry(ctx, c, id); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
