package ports_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/schemas"
	"github.com/copnet/copnet/services/registry/internal/ports"
)

// openAPIDoc is the part of an OpenAPI document these tests read.
type openAPIDoc struct {
	OpenAPI string                    `yaml:"openapi"`
	Paths   map[string]map[string]any `yaml:"paths"`
}

// httpMethods are the keys of an OpenAPI path item that are operations; the others
// (parameters, summary, ...) describe the path as a whole.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadDoc(t *testing.T) (openAPIDoc, any) {
	t.Helper()
	// Read through schemas.FS, the same embedded copy the binaries ship, so the test checks
	// the document operators actually get.
	raw, err := schemas.FS.ReadFile("openapi/registry.yaml")
	if err != nil {
		t.Fatalf("read openapi/registry.yaml: %v", err)
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse openapi/registry.yaml: %v", err)
	}
	var tree any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		t.Fatalf("parse openapi/registry.yaml: %v", err)
	}
	return doc, tree
}

// TestOpenAPIListsExactlyTheServedRoutes keeps the document and the router from drifting:
// a route served but not documented, or documented but not served, fails.
func TestOpenAPIListsExactlyTheServedRoutes(t *testing.T) {
	doc, _ := loadDoc(t)
	// 3.1, because its schemas are JSON Schema 2020-12, which the component tests validate
	// responses with.
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	var served []string
	for _, rt := range ports.NewHTTP(nil).Routes() {
		served = append(served, rt.Method+" "+rt.Path)
	}
	testkit.AssertOpenAPIRoutes(t, "openapi/registry.yaml", served)
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIOperationsAreComplete checks what a client generator needs from each
// operation: every path parameter declared, an operationId, and a 401 (every registry
// route needs a token).
func TestOpenAPIOperationsAreComplete(t *testing.T) {
	doc, tree := loadDoc(t)
	seenIDs := map[string]string{}
	for path, item := range doc.Paths {
		for method, v := range item {
			raw, ok := v.(map[string]any)
			if !slices.Contains(httpMethods, method) || !ok {
				continue
			}
			op := strings.ToUpper(method) + " " + path
			declared := map[string]bool{}
			for _, params := range []any{item["parameters"], raw["parameters"]} {
				for _, p := range asList(params) {
					p = deref(t, tree, p)
					if m, ok := p.(map[string]any); ok && m["in"] == "path" {
						declared[fmt.Sprint(m["name"])] = true
					}
				}
			}
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s: path parameter {%s} is not declared", op, m[1])
				}
			}
			id, _ := raw["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", op)
			} else if other, dup := seenIDs[id]; dup {
				t.Errorf("%s: operationId %q already used by %s", op, id, other)
			}
			seenIDs[id] = op
			responses, _ := raw["responses"].(map[string]any)
			if _, ok := responses["401"]; !ok {
				t.Errorf("%s: no 401 response", op)
			}
		}
	}
}

// TestOpenAPIRefsResolve catches a $ref to a component that was renamed or never written,
// which YAML parsing alone accepts.
func TestOpenAPIRefsResolve(t *testing.T) {
	_, tree := loadDoc(t)
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := resolve(tree, ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, c := range v {
				walk(at+"/"+k, c)
			}
		case []any:
			for i, c := range v {
				walk(fmt.Sprintf("%s/%d", at, i), c)
			}
		}
	}
	walk("#", tree)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// deref follows a local $ref, so that shared parameters count as declared.
func deref(t *testing.T, tree, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	ref, ok := m["$ref"].(string)
	if !ok {
		return v
	}
	target, err := resolve(tree, ref)
	if err != nil {
		t.Errorf("%v", err)
		return v
	}
	return target
}

// resolve follows a local JSON pointer ($ref: '#/a/b'); the registry's document is
// self-contained, so any other form is an error.
func resolve(tree any, ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local to the document", ref)
	}
	cur := tree
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, tok)
		}
	}
	return cur, nil
}
