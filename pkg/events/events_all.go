package events

// All lists every event type the system defines, so documents and schemas can be checked
// against the code.
func All() []Event {
	var all []Event
	for _, evs := range [][]Event{registryEvents(), membershipEvents(), schedulingEvents(), knowledgeEvents(), feedbackEvents()} {
		all = append(all, evs...)
	}
	return all
}
