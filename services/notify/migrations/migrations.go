// Package migrations embeds the notify service's schema, applied at start-up. Migrations
// 0xx are people's mail; 1xx are webhooks (internal/webhooks).
package migrations

import "embed"

// FS holds the numbered SQL migrations.
//
//go:embed *.sql
var FS embed.FS
