package ports_test

import (
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/membership/internal/ports"
)

// TestOpenAPIListsExactlyTheServedRoutes keeps schemas/openapi/membership.yaml and the
// router from drifting in either direction.
func TestOpenAPIListsExactlyTheServedRoutes(t *testing.T) {
	var served []string
	for _, rt := range ports.NewHTTP(nil, nil).Routes() {
		served = append(served, rt.Method+" "+rt.Path)
	}
	served = append(served, ports.DocumentedFlows...)
	testkit.AssertOpenAPIRoutes(t, "openapi/membership.yaml", served)
}
