package schemas_test

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/copnet/copnet/schemas"
)

// TestOpenAPIDocumentsAreValid loads every OpenAPI document with a real validator: YAML that
// merely parses is not enough (an unquoted comma inside a flow mapping turns a description
// into junk keys, which only a validator notices).
func TestOpenAPIDocumentsAreValid(t *testing.T) {
	docs, err := fs.Glob(schemas.FS, "openapi/*.yaml")
	if err != nil || len(docs) == 0 {
		t.Fatalf("no OpenAPI documents: %v", err)
	}
	for _, p := range docs {
		t.Run(path.Base(p), func(t *testing.T) {
			raw, _ := schemas.FS.ReadFile(p)
			var tree any
			if err := yaml.Unmarshal(raw, &tree); err != nil {
				t.Fatal(err)
			}
			for _, at := range emptyKeys("#", tree) {
				t.Errorf("%s has no value: an unquoted comma in a flow mapping?", at)
			}
			doc := LoadOpenAPI(t, p)
			if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
				t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
			}
			if len(doc.Servers) == 0 {
				t.Error("no servers: clients and validators cannot tell where the routes live")
			}
		})
	}
}

// LoadOpenAPI reads and validates one document of schemas.FS.
func LoadOpenAPI(t *testing.T, p string) *openapi3.T {
	t.Helper()
	raw, err := schemas.FS.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("load %s: %v", p, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not valid OpenAPI: %v", p, err)
	}
	return doc
}

// emptyKeys lists keys whose value is empty: nothing in our documents is written that way,
// while `{description: a, b}` in YAML silently makes "b" such a key, which validators skip
// outside schemas (in a response, a tag).
func emptyKeys(at string, v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			if c == nil {
				out = append(out, at+"/"+k)
			}
			out = append(out, emptyKeys(at+"/"+k, c)...)
		}
	case []any:
		for i, c := range v {
			out = append(out, emptyKeys(fmt.Sprintf("%s/%d", at, i), c)...)
		}
	}
	return out
}
