package ports_test

import (
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/scheduling/internal/ports"
)

// TestOpenAPIListsExactlyTheServedRoutes keeps schemas/openapi/scheduling.yaml and the
// router from drifting apart in either direction.
func TestOpenAPIListsExactlyTheServedRoutes(t *testing.T) {
	var served []string
	for _, rt := range ports.NewHTTP(nil, nil, ports.Feeds{}).Routes() {
		served = append(served, rt.Method+" "+rt.Path)
	}
	testkit.AssertOpenAPIRoutes(t, "openapi/scheduling.yaml", served)
}
