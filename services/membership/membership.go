// Package membership is copnet's membership service: people (the only personal data in
// copnet), memberships and roles, the Code of Practice, coordinator appointment by consent,
// removal by the working group's 75% vote, and erasure.
package membership

import (
	"context"
	"time"

	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/membership/internal/app"
	"github.com/copnet/copnet/services/membership/internal/service"
	"github.com/copnet/copnet/services/membership/migrations"
)

// Factory lets a node (the all-in-one or membership's own process) run membership.
var Factory = node.Factory{Name: service.Name, Migrations: migrations.FS, New: service.New, Settings: service.Settings{}}

// SetupLinkTTL is how long a setup link printed by the all-in-one can be used.
const SetupLinkTTL = 30 * time.Minute

// SetupLink returns a single-use link to the node at base that makes whoever opens it first,
// within ttl, a national administrator (the first start's `setup:` line, `copnet link`).
// secret is the node's secret (COPNET_AUTH_SECRET or the all-in-one's data dir).
func SetupLink(secret []byte, base string, ttl time.Duration) (string, error) {
	return app.SetupLink(secret, base, ttl, time.Now())
}

// NeedsSetup reports whether the membership schema at databaseURL has no national
// administrator yet, so the all-in-one prints a setup link only while one is needed.
func NeedsSetup(ctx context.Context, databaseURL string) (bool, error) {
	pool, err := postgres.OpenLimited(ctx, databaseURL, service.Name, 1)
	if err != nil {
		return false, err
	}
	defer pool.Close()
	var has bool
	err = pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM grants WHERE role = 'national')`).Scan(&has)
	return !has, err
}
