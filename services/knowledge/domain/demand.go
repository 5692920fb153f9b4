package domain

import (
	"cmp"
	"slices"
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

// LearningPriorities reads the topics a ranking poll's aggregate puts first: its "order"
// (options best first) or else its per-option "scores" (highest first).
func LearningPriorities(results map[string]any) []string {
	var out []string
	if order, ok := results["order"].([]any); ok {
		for _, o := range order {
			if s, ok := o.(string); ok {
				out = append(out, s)
			}
		}
	} else if scores, ok := results["scores"].(map[string]any); ok {
		type scored struct {
			option string
			score  float64
		}
		var all []scored
		for opt, v := range scores {
			if f, ok := v.(float64); ok {
				all = append(all, scored{opt, f})
			}
		}
		slices.SortFunc(all, func(a, b scored) int {
			return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.option, b.option))
		})
		for _, s := range all {
			out = append(out, s.option)
		}
	}
	if len(out) > TopPriorities {
		out = out[:TopPriorities]
	}
	return out
}

// ConfidenceIsLow reads a session evaluation's aggregate: a "confidence" object (or the
// results themselves, for a confidence scale poll) with a "mean" on a scale of "min" to
// "max" (default 1 to 5).
func ConfidenceIsLow(results map[string]any) bool {
	scale := results
	if c, ok := results["confidence"].(map[string]any); ok {
		scale = c
	}
	mean, ok := scale["mean"].(float64)
	if !ok {
		return false
	}
	lo, hi := 1.0, 5.0
	if v, ok := scale["min"].(float64); ok {
		lo = v
	}
	if v, ok := scale["max"].(float64); ok {
		hi = v
	}
	if hi <= lo {
		return false
	}
	return (mean-lo)/(hi-lo) <= LowConfidence
}
