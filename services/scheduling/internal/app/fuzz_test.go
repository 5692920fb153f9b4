package app

// Fuzz targets for the JSON body of every scheduling route: the body is decoded exactly as
// the route decodes it (httpx.DecodeJSON) and checked as the application checks it. Any
// input must end in a 4xx naming what is wrong, never a panic or a 500, and what is
// accepted must be what a CoP can mean.

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/scheduling/domain"
)

var fuzzNow = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// decode reads body as a route would; ok is false when the route would answer 4xx.
func decode[T any](t *testing.T, body []byte) (T, bool) {
	var in T
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	err := httpx.DecodeJSON(r, &in)
	if err != nil {
		clientFault(t, err)
		return in, false
	}
	return in, true
}

// clientFault fails unless err is one the client caused, answered with a 4xx.
func clientFault(t *testing.T, err error) {
	t.Helper()
	k, ok := apperr.KindOf(err)
	if !ok {
		t.Fatalf("not a client error (would be 500): %v", err)
	}
	if status, ok := httpx.StatusOf(k); !ok || status < 400 || status > 499 {
		t.Fatalf("status %d for %v", status, err)
	}
}

func seed(f *testing.F, bodies ...string) {
	for _, b := range bodies {
		f.Add([]byte(b))
	}
}

func FuzzProgramBody(f *testing.F) {
	seed(f,
		`{"title":"Share, Discuss, Apply","sessions":7,"first_session_at":"2026-03-10T18:00","timezone":"Australia/Melbourne","cadence":"FREQ=MONTHLY;BYDAY=2TU","duration_minutes":90,"format":["share","discuss","apply"],"checkins":[4,7]}`,
		`{"title":"x","sessions":2,"first_session_at":"2027-04-04T02:30","timezone":"Pacific/Auckland","cadence":"FREQ=WEEKLY;BYDAY=SU","duration_minutes":60}`,
		`{"title":"x","sessions":3,"first_session_at":"2027-10-03T02:30","timezone":"Australia/Melbourne","cadence":"RRULE:FREQ=WEEKLY;INTERVAL=2","duration_minutes":60}`,
		`{"title":"x","sessions":100,"first_session_at":"2026-03-03T18:00","timezone":"Australia/Melbourne","cadence":"FREQ=YEARLY","duration_minutes":60}`,
		`{"title":"x","sessions":3,"first_session_at":"9999-12-28T18:00","timezone":"UTC","cadence":"FREQ=WEEKLY","duration_minutes":60}`,
		`{"title":"x","sessions":3,"first_session_at":"2026-03-03T18:00","timezone":"UTC","cadence":"FREQ=WEEKLY;INTERVAL=0","duration_minutes":60}`,
		`{"title":"x","sessions":3,"first_session_at":"2026-03-03T18:00","timezone":"UTC","cadence":"FREQ=SECONDLY","duration_minutes":60}`,
		`{"title":"x","sessions":3,"first_session_at":"2028-02-29T18:00","timezone":"UTC","cadence":"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29","duration_minutes":60}`,
		`{"title":"x","sessions":3,"first_session_at":"2026-03-31T18:00","timezone":"UTC","cadence":"FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30","duration_minutes":60}`,
		`{"title":"\u0000","sessions":-1,"first_session_at":"","timezone":"Local","cadence":"","duration_minutes":0,"checkins":[0]}`,
		`{"title":"x","unknown":1}`, `[]`, `null`, `{"sessions":1e400}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := decode[NewProgram](t, body)
		if !ok {
			return
		}
		d, err := in.plan(fuzzNow)
		if err != nil {
			clientFault(t, err)
			return
		}
		if len(d.slots) != in.Sessions || !oneLine(d.title) || d.title == "" {
			t.Fatalf("accepted %+v as %d sessions titled %q", in, len(d.slots), d.title)
		}
		for i, s := range d.slots {
			if err := domain.CheckWhen(s.StartsAt, fuzzNow); err != nil {
				t.Fatalf("session %d at %s: %v", i+1, s.StartsAt, err)
			}
			if !s.EndsAt.After(s.StartsAt) || i > 0 && !s.StartsAt.After(d.slots[i-1].StartsAt) {
				t.Fatalf("sessions out of order: %+v", d.slots)
			}
			// What is stored must come back out as JSON: years 0–9999 only.
			if _, err := s.EndsAt.MarshalJSON(); err != nil {
				t.Fatalf("session %d ends at %s: %v", i+1, s.EndsAt, err)
			}
		}
	})
}

func FuzzRescheduleBody(f *testing.F) {
	seed(f,
		`{"starts_at":"2026-03-31T19:30","topic":"Mentoring, reflective practice"}`,
		`{"starts_at":"2026-03-31T08:30:00Z","duration_minutes":120,"location":"Hall A","link":"https://meet.example/x"}`,
		`{"starts_at":"9999-12-31T23:59:59Z"}`, `{"starts_at":"1900-01-01T18:00"}`, `{"starts_at":"2027-04-04T02:30"}`,
		`{"location":"Hall\u0007\r\nBEGIN:VEVENT"}`, `{"link":"javascript:alert(1)"}`, `{"duration_minutes":-5}`, `{}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := decode[Reschedule](t, body)
		if !ok {
			return
		}
		ch, err := in.change("Australia/Melbourne", fuzzNow)
		if err != nil {
			clientFault(t, err)
			return
		}
		if ch.StartsAt != nil {
			if err := domain.CheckWhen(*ch.StartsAt, fuzzNow); err != nil {
				t.Fatalf("accepted starts_at %s: %v", *ch.StartsAt, err)
			}
		}
		for _, p := range []*string{ch.Topic, ch.Location, ch.Link} {
			if p != nil && !oneLine(*p) {
				t.Fatalf("accepted text %q", *p)
			}
		}
	})
}

func FuzzCancellationBody(f *testing.F) {
	seed(f, `{"reason":"public holiday"}`, `{"reason":"  "}`, `{"reason":"a\u0000b"}`, `{"reason":1}`, `{}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := decode[Cancellation](t, body)
		if !ok {
			return
		}
		r, err := in.reason()
		if err != nil {
			clientFault(t, err)
			return
		}
		if r == "" || !prose(r) {
			t.Fatalf("accepted reason %q", r)
		}
	})
}

func FuzzHostsBody(f *testing.F) {
	seed(f, `{"host_group":["m1","m2"]}`, `{"host_group":[]}`, `{"host_group":null}`, `{"host_group":["m1","m1",""]}`, `{"host_group":["\u0007"]}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := decode[Hosts](t, body)
		if !ok {
			return
		}
		g, err := in.group()
		if err != nil {
			clientFault(t, err)
			return
		}
		if g == nil || len(g) > 50 || !slices.IsSorted(g) || len(slices.Compact(slices.Clone(g))) != len(g) {
			t.Fatalf("accepted host group %q", g)
		}
	})
}

func FuzzRotationBody(f *testing.F) {
	seed(f, `{"willing":true}`, `{"willing":false,"roles":["facilitator"]}`, `{"roles":["chair"],"willing":true}`, `{"roles":[]}`, `{"willing":"yes"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := decode[Rotation](t, body)
		if !ok {
			return
		}
		w, err := in.willingness()
		if err != nil {
			clientFault(t, err)
			return
		}
		if in.Willing == nil || !*in.Willing && (w.Facilitator || w.NoteTaker) {
			t.Fatalf("accepted %+v as %+v", in, w)
		}
	})
}

func FuzzAttendanceBody(f *testing.F) {
	seed(f, `[{"person_id":"m1","status":"attended"},{"person_id":"m2","status":"apologies"}]`, `[]`,
		`[{"person_id":"m1","status":"attended"},{"person_id":"m1","status":"absent"}]`, `[{"person_id":"","status":"late"}]`, `{}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := decode[[]Record](t, body)
		if !ok {
			return
		}
		if err := checkRecords(in); err != nil {
			clientFault(t, err)
			return
		}
		seen := map[string]bool{}
		for _, r := range in {
			if !personID(r.PersonID) || seen[r.PersonID] || !slices.Contains(attendanceStatuses, r.Status) {
				t.Fatalf("accepted %+v", in)
			}
			seen[r.PersonID] = true
		}
	})
}

func FuzzHoldingBody(f *testing.F) {
	seed(f, `{"notes":"good\nsession","outcomes":["shared a case"]}`, `{}`, `{"outcomes":[" "]}`, `{"notes":"\u0000"}`, `{"outcomes":null}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := decode[Holding](t, body)
		if !ok {
			return
		}
		h, err := in.check()
		if err != nil {
			clientFault(t, err)
			return
		}
		if h.Outcomes == nil || !prose(h.Notes) {
			t.Fatalf("accepted %+v", h)
		}
	})
}

func FuzzRSVPBody(f *testing.F) {
	seed(f, `{"answer":"coming"}`, `{"answer":"apologies"}`, `{"answer":"maybe"}`, `{"answer":"coming","person_id":"m2"}`, `{}`, `[]`)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := decode[RSVP](t, body)
		if !ok {
			return
		}
		if err := in.check(); err != nil {
			clientFault(t, err)
			return
		}
		if in.Answer != domain.RSVPComing && in.Answer != domain.RSVPApologies {
			t.Fatalf("accepted answer %q", in.Answer)
		}
	})
}

func FuzzSwapBody(f *testing.F) {
	seed(f, `{"role":"facilitator","with_session":"s2"}`, `{"role":"note_taker","with_session":"s1"}`, `{"role":"chair","with_session":""}`, `{"role":"facilitator","with_session":"s\u0000"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok := decode[Swap](t, body)
		if !ok {
			return
		}
		if err := in.check("s1"); err != nil {
			clientFault(t, err)
			return
		}
		if !slices.Contains(domain.Roles, domain.Role(in.Role)) || in.WithSession == "s1" || !personID(in.WithSession) {
			t.Fatalf("accepted %+v", in)
		}
	})
}
