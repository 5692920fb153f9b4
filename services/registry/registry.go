// Package registry is copnet's registry service: regions, CoPs, the onboarding state
// machine, charter versions and Wenger stages.
package registry

import (
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/registry/internal/service"
	"github.com/copnet/copnet/services/registry/migrations"
)

// Factory lets a node (the all-in-one or the registry's own process) run the registry.
var Factory = node.Factory{Name: service.Name, Migrations: migrations.FS, New: service.New}
