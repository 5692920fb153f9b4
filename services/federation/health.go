package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/httpx"
)

// Link is the health of one child's link, computed rather than trusted: the source's own
// lag field can read 0 while far behind.
type Link struct {
	Child string `json:"child"`
	// Up is true when the child's stream answers through the leaf connection.
	Up bool `json:"up"`
	// Stalled is true when the child answers and has events to send but the source has
	// been silent for longer than the stall threshold.
	Stalled bool `json:"stalled"`
	// ChildLastSeq is the child stream's last sequence; SourcedSeq the last one sourced.
	ChildLastSeq uint64 `json:"child_last_seq"`
	SourcedSeq   uint64 `json:"sourced_seq"`
	LagMessages  uint64 `json:"lag_messages"`
	// LagSeconds is the age of the oldest event not yet sourced (0 when caught up).
	LagSeconds float64 `json:"lag_seconds"`
	// LastEventAt is when the child's newest event was stored there.
	LastEventAt *time.Time `json:"last_event_at,omitempty"`
	// ActiveSeconds is how long ago the source last heard from the child (-1: never).
	ActiveSeconds float64 `json:"active_seconds"`
	Error         string  `json:"error,omitempty"`
}

func (f *Federation) health(r *http.Request, _ httpx.Claims) (int, any, error) {
	links, err := f.Links(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"node": f.cfg.NodeID, "tier": f.cfg.Tier, "links": links}, nil
}

// Links computes the health of every child's link.
func (f *Federation) Links(ctx context.Context) ([]Link, error) {
	kids, err := f.children(ctx)
	if err != nil {
		return nil, err
	}
	info, err := f.js.StreamInfo(f.stream)
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	links := make([]Link, 0, len(kids))
	for _, k := range kids {
		l := Link{Child: k.ID, ActiveSeconds: -1}
		if i := sourceIndex(info.Config.Sources, k.ID); i >= 0 {
			for _, si := range info.Sources {
				if si.External != nil && si.External.APIPrefix == apiPrefix(k.ID) {
					l.SourcedSeq = si.Seq
					if si.Active >= 0 {
						l.ActiveSeconds = si.Active.Seconds()
					}
				}
			}
		}
		state, err := f.childState(k.ID)
		if err != nil {
			l.Error = err.Error()
			links = append(links, l)
			continue
		}
		l.Up = true
		l.ChildLastSeq = state.LastSeq
		if !state.LastTime.IsZero() {
			last := state.LastTime
			l.LastEventAt = &last
		}
		if state.LastSeq > l.SourcedSeq {
			l.LagMessages = state.LastSeq - l.SourcedSeq
			if t, err := f.childMsgTime(k.ID, max(l.SourcedSeq+1, state.FirstSeq)); err == nil {
				l.LagSeconds = f.now().Sub(t).Seconds()
			}
			l.Stalled = l.ActiveSeconds < 0 || l.ActiveSeconds > f.cfg.StallAfter.Seconds()
		}
		links = append(links, l)
	}
	return links, nil
}

// childState asks the child's JetStream, across its domain, for its stream's state.
func (f *Federation) childState(child string) (nats.StreamState, error) {
	var resp struct {
		State nats.StreamState `json:"state"`
		Error *nats.APIError   `json:"error"`
	}
	if err := f.request(apiPrefix(child)+".STREAM.INFO."+f.stream, nil, &resp); err != nil {
		return nats.StreamState{}, err
	}
	if resp.Error != nil {
		return nats.StreamState{}, resp.Error
	}
	return resp.State, nil
}

func (f *Federation) childMsgTime(child string, seq uint64) (time.Time, error) {
	var resp struct {
		Message struct {
			Time time.Time `json:"time"`
		} `json:"message"`
		Error *nats.APIError `json:"error"`
	}
	req, _ := json.Marshal(map[string]uint64{"seq": seq})
	if err := f.request(apiPrefix(child)+".STREAM.MSG.GET."+f.stream, req, &resp); err != nil {
		return time.Time{}, err
	}
	if resp.Error != nil {
		return time.Time{}, resp.Error
	}
	return resp.Message.Time, nil
}

func (f *Federation) request(subject string, body []byte, out any) error {
	msg, err := f.nc.Request(subject, body, time.Second)
	if err != nil {
		return fmt.Errorf("child unreachable: %w", err)
	}
	return json.Unmarshal(msg.Data, out)
}

// Run watches the links until ctx ends: it re-applies the registered children and
// re-creates any source that stalls, from its cursor, instead of waiting out JetStream's
// own back-off (about 40 s after a parent restart).
func (f *Federation) Run(ctx context.Context) error {
	defer f.nc.Close()
	tick := time.NewTicker(f.cfg.CheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := f.reconcile(ctx); err != nil {
			f.log.Warn("federation: reconcile", "error", err.Error())
			continue
		}
		links, err := f.Links(ctx)
		if err != nil {
			f.log.Warn("federation: health", "error", err.Error())
			continue
		}
		for _, l := range links {
			if l.Up && l.Stalled {
				if err := f.recreate(l.Child, l.SourcedSeq+1); err != nil {
					f.log.Warn("federation: re-create source", "child", l.Child, "error", err.Error())
				}
			}
		}
	}
}

// recreate removes a child's source and adds it again starting after what was sourced.
// Nats-Msg-Id de-duplication covers any overlap.
func (f *Federation) recreate(child string, from uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	info, err := f.js.StreamInfo(f.stream)
	if err != nil {
		return err
	}
	if time.Since(f.touched[child]) < 2*f.cfg.StallAfter {
		return nil
	}
	cfg := info.Config
	i := sourceIndex(cfg.Sources, child)
	if i < 0 {
		return nil
	}
	f.touched[child] = time.Now()
	cfg.Sources = append(cfg.Sources[:i:i], cfg.Sources[i+1:]...)
	if _, err := f.js.UpdateStream(&cfg); err != nil {
		return err
	}
	cfg.Sources = append(cfg.Sources, source(child, from))
	if _, err := f.js.UpdateStream(&cfg); err != nil {
		return err
	}
	f.log.Info("federation: re-created stalled source", "child", child, "from_seq", from)
	return nil
}
