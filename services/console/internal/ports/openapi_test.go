package ports_test

import (
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/console/internal/ports"
)

// TestOpenAPIListsTheReadAPI keeps schemas/openapi/console.yaml and the served /v1 routes
// in step; the pages are HTML for people and are not part of the API document.
func TestOpenAPIListsTheReadAPI(t *testing.T) {
	var served []string
	for _, rt := range ports.NewWeb(nil, nil, "", ports.SignIn{}, nil).APIRoutes() {
		served = append(served, rt.Method+" "+rt.Path)
	}
	testkit.AssertOpenAPIRoutes(t, "openapi/console.yaml", served)
}
