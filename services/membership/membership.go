// Package membership is copnet's membership service: people (the only personal data in
// copnet), memberships and roles, the Code of Practice, coordinator appointment by consent,
// removal by the working group's 75% vote, and erasure.
package membership

import (
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/membership/internal/service"
	"github.com/copnet/copnet/services/membership/migrations"
)

// Factory lets a node (the all-in-one or membership's own process) run membership.
var Factory = node.Factory{Name: service.Name, Migrations: migrations.FS, New: service.New, Settings: service.Settings{}}
