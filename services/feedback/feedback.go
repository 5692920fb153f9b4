// Package feedback is copnet's feedback service: anonymous polls, session evaluations,
// check-ins and the CoP stage quiz.
package feedback

import (
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/feedback/internal/service"
	"github.com/copnet/copnet/services/feedback/migrations"
)

// Factory lets a node (the all-in-one or the feedback service's own process) run it.
var Factory = node.Factory{Name: service.Name, Migrations: migrations.FS, New: service.New, Settings: service.Settings{}}
