package ports_test

import (
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/knowledge/internal/ports"
)

// TestOpenAPIListsExactlyTheServedRoutes keeps schemas/openapi/knowledge.yaml and the
// router from drifting apart in either direction.
func TestOpenAPIListsExactlyTheServedRoutes(t *testing.T) {
	var served []string
	for _, rt := range ports.NewHTTP(nil).Routes() {
		served = append(served, rt.Method+" "+rt.Path)
	}
	testkit.AssertOpenAPIRoutes(t, "openapi/knowledge.yaml", served)
}
