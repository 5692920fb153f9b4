package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/schemas"
)

// repoRoot is the checkout this test runs in (pkg/events → ../..).
const repoRoot = "../.."

// TestGeneratedFilesAreFresh runs the generator into a temporary directory and compares:
// a schema, Go type or AsyncAPI entry edited by hand, or a generator change without
// `make generate`, fails here.
func TestGeneratedFilesAreFresh(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 runs the event generator and is needed for this check: %v", err)
	}
	out := t.TempDir()
	cmd := exec.Command(python, filepath.Join(repoRoot, "schemas/internal/events.py"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, b)
	}
	var compared int
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if filepath.Ext(p) == ".go" {
			// make generate runs gofmt after the generator.
			if want, err = format.Source(want); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		got, err := os.ReadFile(filepath.Join(repoRoot, rel))
		if err != nil {
			t.Errorf("%s is generated but not in the repository (run make generate): %v", rel, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run make generate", rel)
		}
		compared++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One schema per event, five Go files and the AsyncAPI document.
	if want := len(events.All()) + 6; compared < want {
		t.Errorf("compared %d generated files, want at least %d", compared, want)
	}
}

// TestEventSchemasAreClosed: every object in every event schema forbids undeclared
// properties (or types them, for maps), so a producer cannot send what no schema declares.
func TestEventSchemasAreClosed(t *testing.T) {
	for _, e := range events.All() {
		raw, err := fs.ReadFile(schemas.FS, e.EventName().SchemaPath())
		if err != nil {
			t.Fatal(err)
		}
		var s any
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		for _, at := range openObjects("#", s) {
			t.Errorf("%s: object at %s does not set additionalProperties", e.EventName().SchemaPath(), at)
		}
	}
}

func openObjects(at string, v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if v["type"] == "object" {
			if _, ok := v["additionalProperties"]; !ok {
				out = append(out, at)
			}
		}
		for k, c := range v {
			out = append(out, openObjects(at+"/"+k, c)...)
		}
	case []any:
		for i, c := range v {
			out = append(out, openObjects(fmt.Sprintf("%s/%d", at, i), c)...)
		}
	}
	return out
}

// TestResultsPublishedDeclaresWhatFeedbackSends: the aggregates feedback's tally produces
// (ranking first places, word frequencies, typed counts) validate, and an undeclared field
// does not.
func TestResultsPublishedDeclaresWhatFeedbackSends(t *testing.T) {
	ev := events.ResultsPublished{PollID: "p1", CoPID: "c1", Kind: "ranking", Purpose: "learning_priorities", Responses: 5,
		Results: map[string]any{"questions": []any{
			map[string]any{"key": "topics", "kind": "ranking", "prompt": "Rank", "method": "borda", "tie_break": "first_places",
				"ranking": []any{map[string]any{"option": "a", "position": 1, "score": 9, "first_places": 3}}},
			map[string]any{"key": "conf", "kind": "scale", "prompt": "Confidence", "mean": 3.4,
				"distribution": map[string]any{"1": 0, "2": 1, "3": 2, "4": 1, "5": 1}},
			map[string]any{"key": "pick", "kind": "choice", "prompt": "Pick", "counts": map[string]any{"x": 3, "y": 2}},
			map[string]any{"key": "w", "kind": "words", "prompt": "Words", "words": []any{map[string]any{"word": "trust", "count": 2, "frequency": 0.4}}},
		}}}
	if err := events.DefaultSchemas().ValidateEvent(ev); err != nil {
		t.Fatalf("feedback's results do not validate: %v", err)
	}
	ev.Results["questions"].([]any)[0].(map[string]any)["ranking"].([]any)[0].(map[string]any)["voters"] = 5
	if err := events.DefaultSchemas().ValidateEvent(ev); err == nil {
		t.Fatal("an undeclared field in a ranking entry validated")
	}
}
