// Package ports exposes the notify service over HTTP: JSON under /v1.
package ports

import (
	"net/http"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/notify/internal/app"
)

// Route is one HTTP route; the table is also checked against schemas/openapi/notify.yaml.
type Route = httpx.Route

// HTTP serves the notify service's routes.
type HTTP struct {
	app *app.Application
}

// NewHTTP returns the HTTP port over the application.
func NewHTTP(a *app.Application) *HTTP { return &HTTP{app: a} }

// Routes lists every route of people's mail. Webhook routes are internal/webhooks'.
func (h *HTTP) Routes() []Route {
	return []Route{}
}

// Register mounts the routes on mux.
func (h *HTTP) Register(mux *http.ServeMux) { httpx.Mount(mux, h.Routes()) }
