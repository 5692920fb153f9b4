package ports

// The rooms the console follows. Every phone in a room reaches the feedback service
// through the console, so to the feedback service the whole room is one client: a phone
// loading its page, checking the question before answering and waiting for the next one
// must not each cost a call there (its per-address limit would soon refuse the room). The
// console keeps one feed per room instead: one long poll of the room's question at a time,
// shared by every phone's page and event stream, dropped once nobody looked for a while.

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// roomIdle is how long a feed lives without anyone looking.
const roomIdle = 2 * time.Minute

type rooms struct {
	mu    sync.Mutex
	feeds map[string]*roomFeed
	stop  chan struct{} // closed when the console stops: streams and feeds end
}

// stopped is closed once the console stops.
func (rs *rooms) stopped() chan struct{} {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.stop == nil {
		rs.stop = make(chan struct{})
	}
	return rs.stop
}

// Stop ends the live sessions' event streams and room feeds: the console is shutting
// down, and they must not hold the HTTP server's graceful shutdown.
func (w *Web) Stop() {
	ch := w.rooms.stopped()
	w.rooms.mu.Lock()
	defer w.rooms.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

type roomFeed struct {
	mu      sync.Mutex
	latest  *roomDeck
	changed chan struct{} // closed and replaced when latest changes
	seen    time.Time     // when a page or stream last looked
	gone    bool          // the deck disappeared or the feed stopped
}

// room returns the room's current state: from its feed when one runs, else from the
// feedback service (starting a feed when the code is a deck's).
func (w *Web) room(r *http.Request, code string) (*roomDeck, int, string, error) {
	w.rooms.mu.Lock()
	f := w.rooms.feeds[code]
	w.rooms.mu.Unlock()
	if f != nil {
		if d, ok := f.look(); ok {
			return d, http.StatusOK, "", nil
		}
	}
	d, status, detail, err := w.fetchRoom(r, code)
	if err != nil || status != http.StatusOK || d.single {
		return d, status, detail, err
	}
	base, err := w.apiBase(r)
	if err != nil {
		return nil, 0, "", err
	}
	w.rooms.mu.Lock()
	defer w.rooms.mu.Unlock()
	if w.rooms.feeds == nil {
		w.rooms.feeds = map[string]*roomFeed{}
	}
	if old := w.rooms.feeds[code]; old != nil {
		if d2, ok := old.look(); ok {
			return d2, http.StatusOK, "", nil
		}
	}
	f = &roomFeed{latest: d, changed: make(chan struct{}), seen: time.Now()}
	w.rooms.feeds[code] = f
	go w.follow(base, code, f)
	return d, http.StatusOK, "", nil
}

// look returns the feed's latest state and marks the feed in use; ok is false for a feed
// that stopped.
func (f *roomFeed) look() (*roomDeck, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = time.Now()
	return f.latest, !f.gone
}

// next waits until the feed's state differs from version (or ctx ends, or the feed stops).
func (f *roomFeed) next(ctx context.Context, version string) (*roomDeck, bool) {
	for {
		f.mu.Lock()
		f.seen = time.Now()
		d, changed, gone := f.latest, f.changed, f.gone
		f.mu.Unlock()
		if gone {
			return nil, false
		}
		if d.Version != version {
			return d, true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return d, true
		}
	}
}

// follow long-polls the room's question for as long as someone looks, then forgets it.
func (w *Web) follow(base, code string, f *roomFeed) {
	defer func() {
		f.mu.Lock()
		f.gone = true
		close(f.changed)
		f.mu.Unlock()
		w.rooms.mu.Lock()
		if w.rooms.feeds[code] == f {
			delete(w.rooms.feeds, code)
		}
		w.rooms.mu.Unlock()
	}()
	failures := 0
	life, end := untilClosed(w.rooms.stopped())
	defer end()
	for life.Err() == nil {
		f.mu.Lock()
		idle, version := time.Since(f.seen) > roomIdle, f.latest.Version
		f.mu.Unlock()
		if idle || failures >= 3 {
			return
		}
		ctx, cancel := context.WithTimeout(life, pollFor)
		var d roomDeck
		status, _, err := w.callBase(ctx, base, "/v1/decks/by-code/"+url.PathEscape(code)+"/current?after="+url.QueryEscape(version), &d)
		cancel()
		if err != nil || status != http.StatusOK {
			// Gone, refused or unreachable: pages fall back to asking themselves.
			failures++
			if status == http.StatusNotFound {
				return
			}
			select { // a failing service is not asked in a tight loop
			case <-time.After(time.Second):
			case <-life.Done():
			}
			continue
		}
		failures = 0
		if d.Version != version {
			f.mu.Lock()
			f.latest = &d
			close(f.changed)
			f.changed = make(chan struct{})
			f.mu.Unlock()
		}
	}
}

// untilClosed returns a context that ends when stop is closed or end is called.
func untilClosed(stop <-chan struct{}) (context.Context, context.CancelFunc) {
	return withStop(context.Background(), stop)
}

// withStop returns ctx that also ends when stop is closed.
func withStop(parent context.Context, stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
