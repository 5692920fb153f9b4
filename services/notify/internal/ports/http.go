// Package ports exposes the notify service over HTTP: JSON under /v1.
package ports

import (
	"net/http"

	"github.com/copnet/copnet/pkg/httpx"
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

// Routes lists every route of people's mail, then the webhook routes (internal/webhooks).
func (h *HTTP) Routes() []Route {
	return append([]Route{}, h.hooks.Routes()...)
}

// Register mounts the routes on mux.
func (h *HTTP) Register(mux *http.ServeMux) { httpx.Mount(mux, h.Routes()) }
