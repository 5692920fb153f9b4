package domain

import (
	"cmp"
	"math"
	"slices"
	"strconv"
)

// Reasons a topic is in demand, besides open requests.
const (
	ReasonLearningPriority = "learning_priority"
	ReasonLowConfidence    = "low_confidence"
)

// TopPriorities is how many of a learning-priority ranking's first options count as demand.
const TopPriorities = 3

// LowConfidence is how far up its scale a session's mean confidence may be and still make
// the session's topics demand: 0.375 of the way is 2.5 on a 1–5 scale.
const LowConfidence = 0.375

// The aggregates come in feedback's results_published contract: {"questions": [{"key",
// "kind", "mean", "distribution", "ranking": [{"option", "position", ...}], ...}]}.
func questions(results map[string]any) []map[string]any {
	list, _ := results["questions"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, q := range list {
		if m, ok := q.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// LearningPriorities reads the topics a ranking question's aggregate puts first.
func LearningPriorities(results map[string]any) []string {
	for _, q := range questions(results) {
		if q["kind"] != "ranking" {
			continue
		}
		type placed struct {
			option   string
			position float64
		}
		var all []placed
		ranking, _ := q["ranking"].([]any)
		for _, r := range ranking {
			m, _ := r.(map[string]any)
			opt, _ := m["option"].(string)
			pos, _ := m["position"].(float64)
			if opt != "" {
				all = append(all, placed{opt, pos})
			}
		}
		slices.SortStableFunc(all, func(a, b placed) int { return cmp.Compare(a.position, b.position) })
		out := make([]string, 0, TopPriorities)
		for _, p := range all {
			if len(out) == TopPriorities {
				break
			}
			out = append(out, p.option)
		}
		return out
	}
	return nil
}

// ConfidenceIsLow reads a session evaluation's "confidence" question: its mean on the
// scale its distribution lists (default 1 to 5).
func ConfidenceIsLow(results map[string]any) bool {
	for _, q := range questions(results) {
		if q["key"] != "confidence" {
			continue
		}
		mean, ok := q["mean"].(float64)
		if !ok {
			return false
		}
		lo, hi := 1.0, 5.0
		if dist, ok := q["distribution"].(map[string]any); ok && len(dist) > 1 {
			lo, hi = math.Inf(1), math.Inf(-1)
			for point := range dist {
				if v, err := strconv.ParseFloat(point, 64); err == nil {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
		if hi <= lo {
			return false
		}
		return (mean-lo)/(hi-lo) <= LowConfidence
	}
	return false
}
