// Package knowledge is copnet's knowledge service: the map of projects and engagements,
// overlap and community-fatigue detection, the expertise directory, requests for
// information, reusable assets and knowledge gaps.
package knowledge

import (
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/knowledge/internal/service"
	"github.com/copnet/copnet/services/knowledge/migrations"
)

// Factory lets a node (the all-in-one or the knowledge service's own process) run it.
var Factory = node.Factory{Name: service.Name, Migrations: migrations.FS, New: service.New, Settings: service.Config{}}
