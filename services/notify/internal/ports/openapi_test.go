package ports_test

import (
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/notify/internal/ports"
)

// TestOpenAPIListsExactlyTheServedRoutes keeps schemas/openapi/notify.yaml and the router
// from drifting in either direction.
func TestOpenAPIListsExactlyTheServedRoutes(t *testing.T) {
	var served []string
	for _, rt := range ports.NewHTTP(nil).Routes() {
		served = append(served, rt.Method+" "+rt.Path)
	}
	served = append(served, ports.DocumentedPages...)
	testkit.AssertOpenAPIRoutes(t, "openapi/notify.yaml", served)
}
