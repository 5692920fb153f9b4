// Package console is copnet's console: the pages national secretariats and regional hubs
// look at, and the national/regional read API, built only from events.
package console

import (
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/console/internal/service"
	"github.com/copnet/copnet/services/console/migrations"
)

// Factory lets a node (the all-in-one or the console's own process) run the console,
// checking sign-ins with the node's verifier (COPNET_CONSOLE_API_URL optional).
var Factory = node.Factory{Name: service.Name, Migrations: migrations.FS, New: service.New, Settings: service.Settings{}}

// Options override what the console would otherwise read from the environment.
type Options = service.Options

// NewFactory returns a Factory with explicit options; tests give the console the node's
// token verifier this way.
func NewFactory(o Options) node.Factory {
	return node.Factory{Name: service.Name, Migrations: migrations.FS, New: service.NewWith(o)}
}
