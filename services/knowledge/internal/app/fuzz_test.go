package app

import (
	"testing"
	"time"
)

// FuzzDecodeRequestCursor: a cursor from outside is either refused as a 400 on cursor or
// names a position that encodes back to itself; it never panics.
func FuzzDecodeRequestCursor(f *testing.F) {
	f.Add(RequestCursor{At: time.Date(2026, 12, 3, 19, 0, 0, 123456000, time.UTC), ID: "01jabc"}.Encode())
	f.Add("")
	f.Add("bm9uc2Vuc2U")
	f.Add("MjAyNi0xMi0wM1QxOTowMDowMFp8")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeRequestCursor(s)
		if err != nil || c == nil {
			return
		}
		if !plausibleID(c.ID) {
			t.Fatalf("cursor %q decoded to id %q", s, c.ID)
		}
		again, err := DecodeRequestCursor(c.Encode())
		if err != nil || !again.At.Equal(c.At) || again.ID != c.ID {
			t.Fatalf("cursor %q → %+v does not survive encoding again: %+v %v", s, c, again, err)
		}
	})
}

func FuzzDecodeProjectCursor(f *testing.F) {
	f.Add(ProjectCursor{StartsOn: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), ID: "01jabc"}.Encode())
	f.Add("")
	f.Add("bm9uc2Vuc2U")
	f.Add("MjAyNi0wMS0wMXw")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeProjectCursor(s)
		if err != nil || c == nil {
			return
		}
		if !plausibleID(c.ID) {
			t.Fatalf("cursor %q decoded to id %q", s, c.ID)
		}
		again, err := DecodeProjectCursor(c.Encode())
		if err != nil || !again.StartsOn.Equal(c.StartsOn) || again.ID != c.ID {
			t.Fatalf("cursor %q → %+v does not survive encoding again: %+v %v", s, c, again, err)
		}
	})
}
