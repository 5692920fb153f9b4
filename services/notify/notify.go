// Package notify is copnet's notify service: it decides which people an event concerns and
// mails them, once, as they asked to be told (at once, in a daily or weekly digest, or not).
package notify

import (
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/notify/internal/service"
	"github.com/copnet/copnet/services/notify/migrations"
)

// Factory lets a node (the all-in-one or the notify service's own process) run it.
var Factory = node.Factory{Name: service.Name, Migrations: migrations.FS, New: service.New, Settings: service.Settings{}}
