package ports

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStreamKeepsTextInsideDataLines: whatever text an event carries (a question's prompt
// with \r or \n in it), it stays inside data lines, so it can never start an event, id or
// retry field of its own; the stream starts with the retry delay and resumes from
// Last-Event-ID.
func TestStreamKeepsTextInsideDataLines(t *testing.T) {
	r := httptest.NewRequest("GET", "/present/d1/events?after=v0", nil)
	r.Header.Set("Last-Event-ID", "v1")
	rec := httptest.NewRecorder()
	calls := 0
	var afters []string
	stream(rec, r, make(chan struct{}), func(_ context.Context, after string) (string, string, string, bool, error) {
		calls++
		afters = append(afters, after)
		switch calls {
		case 1:
			return "v2", "live", "<p>one\r\nid: forged\revent: forged\ntwo</p>", true, nil
		case 2:
			return "", "", "", false, nil // nothing changed
		}
		return "", "", "", false, errors.New("stop")
	})
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	want := "retry: 2000\n\nid: v2\nevent: live\ndata: <p>one\ndata: id: forged\ndata: event: forged\ndata: two</p>\n\n: waiting\n\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("stream wrote\n%q\nwant\n%q", got, want)
	}
	if strings.Join(afters, ",") != "v1,v2,v2" {
		t.Errorf("the stream asked after %v, want the Last-Event-ID, then each version it sent", afters)
	}
}
