package domain_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/copnet/copnet/services/knowledge/domain"
)

// results parses a results_published payload's results as feedback writes them.
func results(t *testing.T, raw string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLearningPriorities(t *testing.T) {
	ranked := results(t, `{"questions": [{"key": "q1", "kind": "ranking", "method": "borda",
		"ranking": [{"option": "d", "position": 4, "score": 1}, {"option": "a", "position": 1, "score": 9},
		{"option": "c", "position": 3, "score": 4}, {"option": "b", "position": 2, "score": 7}]}]}`)
	if got := domain.LearningPriorities(ranked); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("top three by position: %v", got)
	}
	scale := results(t, `{"questions": [{"key": "confidence", "kind": "scale", "mean": 3.0}]}`)
	if got := domain.LearningPriorities(scale); len(got) != 0 {
		t.Errorf("not a ranking: %v", got)
	}
}

func TestConfidenceIsLow(t *testing.T) {
	for _, tc := range []struct {
		results string
		want    bool
	}{
		{`{"questions": [{"key": "confidence", "kind": "scale", "mean": 2.0}]}`, true},
		{`{"questions": [{"key": "confidence", "kind": "scale", "mean": 2.5}]}`, true},
		{`{"questions": [{"key": "confidence", "kind": "scale", "mean": 3.5}]}`, false},
		{`{"questions": [{"key": "confidence", "kind": "scale", "mean": 3.0,
			"distribution": {"0": 1, "5": 2, "10": 0}}]}`, true},
		{`{"questions": [{"key": "usefulness", "kind": "scale", "mean": 1.0}]}`, false},
		{`{"questions": []}`, false},
	} {
		if got := domain.ConfidenceIsLow(results(t, tc.results)); got != tc.want {
			t.Errorf("%s: low = %v, want %v", tc.results, got, tc.want)
		}
	}
}
