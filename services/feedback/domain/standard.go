package domain

// The polls the service opens by itself. Their question keys are part of the API: the
// confidence trend reads "confidence", and clients answer with these keys.

// Question keys of evaluations and check-ins.
const (
	KeyConfidence = "confidence"
	KeyUsefulness = "usefulness"
	KeyTakeaway   = "takeaway"
	KeyMeetsNeeds = "meets_needs"
	KeyChange     = "change"
)

func fivePoint(low, high string) *Scale {
	return &Scale{Min: 1, Max: 5, Labels: map[string]string{"1": low, "5": high}}
}

// EvaluationQuestions is what a session evaluation asks: the confidence members feel
// (the network's confidence trend), how useful the session was, and one word for it.
func EvaluationQuestions() []Question {
	return []Question{
		{Key: KeyConfidence, Kind: KindScale, Prompt: "How confident do you feel now about the topic of this session?",
			Options: []string{}, Scale: fivePoint("not confident", "very confident")},
		{Key: KeyUsefulness, Kind: KindScale, Prompt: "How useful was this session for your practice?",
			Options: []string{}, Scale: fivePoint("not useful", "very useful")},
		{Key: KeyTakeaway, Kind: KindWords, Prompt: "One to three words you take away from this session",
			Options: []string{}},
	}
}

// CheckinQuestions is the periodic check-in: is the CoP still meeting a need, and what
// should change.
func CheckinQuestions() []Question {
	return []Question{
		{Key: KeyMeetsNeeds, Kind: KindChoice, Prompt: "Is this CoP still meeting your needs?",
			Options: []string{"yes", "partly", "no"}},
		{Key: KeyChange, Kind: KindWords, Prompt: "What should change? (one to three words or short phrases)",
			Options: []string{}},
	}
}
