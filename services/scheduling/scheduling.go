// Package scheduling is copnet's scheduling service: programs of sessions in the CoP's
// time zone, fair rotation of facilitator and note-taker, attendance, participation
// trends and iCalendar feeds.
package scheduling

import (
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/scheduling/internal/service"
	"github.com/copnet/copnet/services/scheduling/migrations"
)

// Factory lets a node (the all-in-one or scheduling's own process) run scheduling.
var Factory = node.Factory{Name: service.Name, Migrations: migrations.FS, New: service.New, Settings: service.Config{}}
