package events_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/copnet/copnet/pkg/events"
)

// FuzzEventPayload feeds arbitrary payloads to the check every consumer runs before it
// decodes (the event's JSON Schema, then json.Unmarshal into its Go type), for every event
// type. Whatever a child node or a buggy producer sends, the check never panics, and what
// it accepts decodes into the Go type and marshals back into a payload that still passes:
// a consumer never applies an event that a replay would then refuse.
func FuzzEventPayload(f *testing.F) {
	all := events.All()
	schemas := events.DefaultSchemas()
	for i, ev := range all {
		raw, err := events.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), raw)
		f.Add(uint8(i), []byte(`{}`))
	}
	f.Add(uint8(0), []byte(`{"region_id":"vic","name":"Victoria","extra":1}`))
	f.Add(uint8(0), []byte(`{"region_id":"vic","name":"Vic\u0000toria"}`))
	f.Add(uint8(1), []byte(`[`))
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		ev := all[int(which)%len(all)]
		ceType := ev.EventName().Type()
		if err := schemas.Validate(ceType, payload); err != nil {
			return
		}
		ptr := reflect.New(reflect.TypeOf(ev))
		if err := json.Unmarshal(payload, ptr.Interface()); err != nil {
			t.Fatalf("%s: the schema accepts %q but the Go type does not: %v", ceType, payload, err)
		}
		again, err := events.Marshal(ptr.Elem().Interface().(events.Event))
		if err != nil {
			t.Fatalf("%s: re-marshal: %v", ceType, err)
		}
		if err := schemas.Validate(ceType, again); err != nil {
			t.Fatalf("%s: accepted %q, but its re-marshalled form %q is refused: %v", ceType, payload, again, err)
		}
	})
}
