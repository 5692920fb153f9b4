package testkit

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/copnet/copnet/schemas"
)

var openAPIMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// AssertOpenAPIRoutes fails when the OpenAPI document at path (inside the schemas module,
// e.g. "openapi/membership.yaml") and the routes a service serves ("METHOD /path") differ in
// either direction, so documents and code cannot drift apart.
func AssertOpenAPIRoutes(t testing.TB, path string, served []string) {
	t.Helper()
	raw, err := schemas.FS.ReadFile(path)
	if err != nil {
		t.Fatalf("testkit: read %s: %v", path, err)
	}
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("testkit: parse %s: %v", path, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("%s: openapi version %q", path, doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, item := range doc.Paths {
		for key := range item {
			if slices.Contains(openAPIMethods, key) {
				documented[strings.ToUpper(key)+" "+p] = true
			}
		}
	}
	var missing, extra []string
	servedSet := map[string]bool{}
	for _, r := range served {
		servedSet[r] = true
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !servedSet[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("%s lacks served routes: %s", path, strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		t.Errorf("%s documents routes nobody serves: %s", path, strings.Join(extra, ", "))
	}
	if len(served) == 0 {
		t.Error("no served routes given")
	}
}
