package domain_test

import (
	"slices"
	"testing"

	"github.com/copnet/copnet/services/knowledge/domain"
)

func TestLearningPriorities(t *testing.T) {
	byOrder := map[string]any{"order": []any{"a", "b", "c", "d"}}
	if got := domain.LearningPriorities(byOrder); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("from order: %v", got)
	}
	byScore := map[string]any{"scores": map[string]any{"low": 1.0, "high": 9.0, "mid": 5.0, "tie": 5.0}}
	if got := domain.LearningPriorities(byScore); !slices.Equal(got, []string{"high", "mid", "tie"}) {
		t.Errorf("from scores: %v", got)
	}
	if got := domain.LearningPriorities(map[string]any{"mean": 3.0}); len(got) != 0 {
		t.Errorf("not a ranking: %v", got)
	}
}

func TestConfidenceIsLow(t *testing.T) {
	for _, tc := range []struct {
		results map[string]any
		want    bool
	}{
		{map[string]any{"confidence": map[string]any{"mean": 2.0}}, true},
		{map[string]any{"confidence": map[string]any{"mean": 2.5}}, true},
		{map[string]any{"confidence": map[string]any{"mean": 3.5}}, false},
		{map[string]any{"mean": 3.0, "min": 0.0, "max": 10.0}, true},
		{map[string]any{"counts": map[string]any{}}, false},
	} {
		if got := domain.ConfidenceIsLow(tc.results); got != tc.want {
			t.Errorf("%v: low = %v, want %v", tc.results, got, tc.want)
		}
	}
}
