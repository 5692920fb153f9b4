package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
)

// Dataset is the size of a national network.
type Dataset struct {
	Regions    int `json:"regions"`
	CoPs       int `json:"cops"`
	People     int `json:"people"`
	Projects   int `json:"projects"`
	Attendance int `json:"attendance_records"`
}

// datasetFor scales the national dataset (50 regions, 5,000 CoPs, 200,000 people,
// 200,000 projects, 1,000,000 attendance records).
func datasetFor(f float64) Dataset {
	n := func(base float64, least int) int { return max(least, int(math.Round(base*f))) }
	d := Dataset{Regions: n(50, 2), CoPs: n(5000, 4), People: n(200_000, 8), Projects: n(200_000, 8), Attendance: n(1_000_000, 40)}
	return d
}

const (
	sessionsPerCoP    = 20
	recordsPerSession = 10
)

// ScalePoint is the queries measured at one size of the dataset.
type ScalePoint struct {
	Fraction     float64 `json:"fraction"`
	Dataset      Dataset `json:"dataset"`
	Events       int     `json:"events_published"`
	BuildSeconds float64 `json:"build_seconds"`
	Overlap      Latency `json:"overlap_check"`
	Summary      Latency `json:"national_summary"`
	Gaps         Latency `json:"gaps_query"`
	Calendar     Latency `json:"cop_calendar_feed"`
}

// Scale is the scale section.
type Scale struct {
	Full    Dataset      `json:"full_dataset"`
	Path    string       `json:"generated_through"`
	Points  []ScalePoint `json:"points"`
	Profile string       `json:"cpu_profile,omitempty"`
}

// generator publishes a national dataset as the services would have: well-formed events
// with the bus's envelope (schema-validated, Nats-Msg-Id, ce-source) on the node's stream,
// and the CoPs' programs through scheduling's API (their sessions are what calendar feeds
// serve and what attendance refers to).
type generator struct {
	n      *inproc
	b      *bus.Bus
	js     nats.JetStreamContext
	nc     *nats.Conn
	have   Dataset
	sess   map[int][]string // CoP index → session ids
	sample []events.ProjectMapped
	sent   int
}

func copID(i int) string    { return fmt.Sprintf("bcop-%05d", i) }
func regionID(i int) string { return fmt.Sprintf("r%02d", i) }
func personID(i int) string { return fmt.Sprintf("bp-%07d", i) }

func (g *generator) publish(p *progress, evs ...events.Event) error {
	var m wmnats.NATSMarshaler
	for _, ev := range evs {
		msg, err := g.b.NewMessage(context.Background(), ev)
		if err != nil {
			return err
		}
		nm, err := m.Marshal(ev.EventName().Subject(g.b.NodeID()), msg)
		if err != nil {
			return err
		}
		nm.Header.Set(nats.MsgIdHdr, msg.UUID)
		_, err = g.js.PublishMsgAsync(nm)
		for retry := 0; errors.Is(err, nats.ErrTooManyStalledMsgs) && retry < 1000; retry++ {
			_, err = g.js.PublishMsgAsync(nm) // the broker's pace: 4096 in flight at most
		}
		if err != nil {
			return err
		}
		g.sent++
		if p != nil {
			p.add(1)
		}
	}
	return nil
}

func (g *generator) flush() error {
	select {
	case <-g.js.PublishAsyncComplete():
		return nil
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("generator: broker acks missing after 2m")
	}
}

// grow brings the dataset to want.
func (g *generator) grow(ctx context.Context, cfg runConfig, want Dataset) error {
	total := (want.Regions - g.have.Regions) + 2*(want.CoPs-g.have.CoPs) + 2*(want.People-g.have.People) +
		(want.Projects - g.have.Projects) + (want.Attendance-g.have.Attendance)/recordsPerSession
	p := newProgress("events published", total)
	for i := g.have.Regions; i < want.Regions; i++ {
		if err := g.publish(p, events.RegionCreated{RegionID: regionID(i), Name: "Region " + regionID(i)}); err != nil {
			return err
		}
	}
	for i := g.have.CoPs; i < want.CoPs; i++ {
		r := regionID(i % want.Regions)
		if err := g.publish(p, events.CoPProposed{CoPID: copID(i), Region: r, Name: "CoP " + copID(i), Scope: "regional",
			Topics: []string{fmt.Sprintf("topic-%03d", i%500)}, HostOrganisations: []string{"Org"}, Stage: "potential"},
			events.CoPApproved{CoPID: copID(i), Region: r}); err != nil {
			return err
		}
	}
	for i := g.have.People; i < want.People; i++ {
		c := i % want.CoPs
		if err := g.publish(p, events.PersonRegistered{PersonID: personID(i)},
			events.MemberJoined{CoPID: copID(c), Region: regionID(c % want.Regions), PersonID: personID(i), CodeOfPracticeVersion: 1}); err != nil {
			return err
		}
	}
	r := mrand.New(mrand.NewPCG(7, uint64(g.have.Projects)))
	base := time.Now().UTC()
	for i := g.have.Projects; i < want.Projects; i++ {
		c := i % want.CoPs
		reg := regionID(c % want.Regions)
		start := base.AddDate(0, 0, r.IntN(365))
		ev := events.ProjectMapped{ProjectID: fmt.Sprintf("bprj-%07d", i), CoPID: copID(c), Region: reg, Organisation: "Org",
			Topics:      []string{fmt.Sprintf("topic-%03d", r.IntN(500)), fmt.Sprintf("topic-%03d", r.IntN(500))},
			Communities: []events.Community{{Place: fmt.Sprintf("au.%s.t%02d", reg, r.IntN(100)), Group: groups[r.IntN(len(groups))]}},
			StartsOn:    start.Format(time.DateOnly), EndsOn: start.AddDate(0, 1+r.IntN(3), 0).Format(time.DateOnly), Title: "Project"}
		if len(g.sample) < 64 {
			g.sample = append(g.sample, ev)
		}
		if err := g.publish(p, ev); err != nil {
			return err
		}
	}
	if err := g.flush(); err != nil {
		return err
	}
	p.finish()
	// Programs need scheduling to know each CoP (from cop_approved) first.
	if err := g.waitConsumed("consumers catching up"); err != nil {
		return err
	}
	if err := g.programs(ctx, cfg, g.have.CoPs, want.CoPs); err != nil {
		return err
	}
	// Attendance: one event per held session, recordsPerSession members of its CoP each.
	events0 := (want.Attendance - g.have.Attendance) / recordsPerSession
	p = newProgress("attendance events", events0)
	k := g.have.Attendance / recordsPerSession
	for e := 0; e < events0; e, k = e+1, k+1 {
		c := k % want.CoPs
		ss := g.sess[c]
		if len(ss) == 0 {
			return fmt.Errorf("CoP %s has no sessions", copID(c))
		}
		s := ss[(k/want.CoPs)%len(ss)]
		ev := events.AttendanceRecorded{SessionID: s, CoPID: copID(c)}
		for j := range recordsPerSession {
			status := "attended"
			if j%5 == 4 {
				status = "apologies"
			}
			if status == "attended" {
				ev.Attended++
			} else {
				ev.Apologies++
			}
			ev.Records = append(ev.Records, events.Attendance{PersonID: personID((c + want.CoPs*j) % want.People), Status: status})
		}
		if err := g.publish(p, ev); err != nil {
			return err
		}
	}
	if err := g.flush(); err != nil {
		return err
	}
	p.finish()
	if err := g.waitConsumed("consumers catching up"); err != nil {
		return err
	}
	g.have = want
	return nil
}

// programs plans a program of sessions for CoPs [from, to) through scheduling's API.
func (g *generator) programs(ctx context.Context, cfg runConfig, from, to int) error {
	p := newProgress("programs (HTTP)", to-from)
	var next atomic.Int64
	next.Store(int64(from) - 1)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	first := time.Now().UTC().AddDate(0, 0, -7*sessionsPerCoP/2)
	for range cfg.concurrencyN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i >= to || ctx.Err() != nil {
					return
				}
				var prog struct {
					Sessions []struct {
						ID string `json:"id"`
					} `json:"sessions"`
				}
				err := await(ctx, 60*time.Second, http.StatusCreated, "POST", g.n.URL+"/v1/cops/"+copID(i)+"/programs", nationalToken, map[string]any{
					"title": "Program", "sessions": sessionsPerCoP, "first_session_at": first.Format("2006-01-02T15:04"),
					"timezone": "Australia/Melbourne", "cadence": "RRULE:FREQ=WEEKLY", "duration_minutes": 60,
					"format": []string{"share", "discuss"},
				}, &prog)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				for _, s := range prog.Sessions {
					g.sess[i] = append(g.sess[i], s.ID)
				}
				mu.Unlock()
				p.add(1)
			}
		}()
	}
	wg.Wait()
	p.finish()
	return firstErr
}

// waitConsumed waits until every consumer's lag is zero twice, 300ms apart (an outbox row
// written by a consumer reaches the stream within the forwarder's poll).
func (g *generator) waitConsumed(what string) error {
	lag0, _ := consumerLag(g.js, "COPNET")
	p := newProgress(what, int(lag0))
	zeros := 0
	deadline := time.Now().Add(40 * time.Minute)
	for time.Now().Before(deadline) {
		lag, err := consumerLag(g.js, "COPNET")
		if err != nil {
			return err
		}
		if int(lag) > p.total {
			p.total = int(lag)
		}
		p.set(p.total - int(lag))
		if lag == 0 {
			zeros++
			if zeros >= 2 {
				p.finish()
				return nil
			}
		} else {
			zeros = 0
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("%s: consumers still behind after 40 minutes", what)
}

// measure times the four queries, sequentially, samples times each.
func (g *generator) measure(ctx context.Context, cfg runConfig) (ScalePoint, error) {
	pt := ScalePoint{Dataset: g.have}
	pool, err := openPool(ctx, g.n.db.URL, 2)
	if err != nil {
		return pt, err
	}
	defer pool.Close()
	// Overlap check: a new project on the same community and window as a mapped one, timed
	// from 201 until knowledge has recorded its overlap.
	vis := newVisibility(pool, `SELECT project_a FROM knowledge.project_overlaps WHERE project_a = ANY($1)
		UNION SELECT project_b FROM knowledge.project_overlaps WHERE project_b = ANY($1)`)
	vctx, vcancel := context.WithCancel(ctx)
	defer vcancel()
	go vis.run(vctx)
	for i := range cfg.scaleSamples {
		s := g.sample[i%len(g.sample)]
		var p struct{ ID string }
		if err := must(ctx, http.StatusCreated, "POST", g.n.URL+"/v1/projects", nationalToken, map[string]any{
			"cop_id": s.CoPID, "title": "Overlap probe", "organisation": "Probe Org", "topics": s.Topics,
			"communities": []map[string]string{{"place": s.Communities[0].Place, "group": s.Communities[0].Group}},
			"starts_on":   s.StartsOn, "ends_on": s.EndsOn,
		}, &p); err != nil {
			return pt, err
		}
		vis.add(p.ID, time.Now())
		if !vis.waitEmpty(60 * time.Second) {
			return pt, fmt.Errorf("overlap of probe %s not recorded within 60s", p.ID)
		}
	}
	pt.Overlap = summarise(vis.seen)
	get := func(path string) (Latency, error) {
		var ds []time.Duration
		for range cfg.scaleSamples {
			t := time.Now()
			if err := must(ctx, http.StatusOK, "GET", g.n.URL+path, nationalToken, nil, nil); err != nil {
				return Latency{}, err
			}
			ds = append(ds, time.Since(t))
		}
		return summarise(ds), nil
	}
	if pt.Summary, err = get("/v1/network/summary"); err != nil {
		return pt, err
	}
	if pt.Gaps, err = get("/v1/network/gaps"); err != nil {
		return pt, err
	}
	if pt.Calendar, err = get("/v1/cops/" + copID(0) + "/calendar.ics"); err != nil {
		return pt, err
	}
	return pt, nil
}

// runScale builds the dataset on a fresh all-in-one node in two steps, 1% then 100%, and
// measures the queries at each.
func runScale(ctx context.Context, cfg runConfig, profile func() func()) (*Scale, error) {
	n, err := startBroker("national", "", false)
	if err != nil {
		return nil, err
	}
	defer n.stop()
	if err := n.startServices(ctx, allServices...); err != nil {
		return nil, err
	}
	nc, js, err := jsConnect(n.natsURL())
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	g := &generator{n: n, b: n.bus, js: js, nc: nc, sess: map[int][]string{}}
	full := datasetFor(cfg.datasetFactor)
	out := &Scale{Full: full, Path: "events with the bus envelope (registry, membership, knowledge, scheduling attendance) + scheduling programs over HTTP"}
	for _, f := range []float64{0.01, 1} {
		want := Dataset{Regions: full.Regions, CoPs: max(2, int(float64(full.CoPs)*f)), People: max(4, int(float64(full.People)*f)),
			Projects: max(4, int(float64(full.Projects)*f)), Attendance: max(recordsPerSession*2, int(float64(full.Attendance)*f))}
		logf("scale: building %.0f%% of the dataset: %+v", f*100, want)
		t := time.Now()
		before := g.sent
		var stop func()
		if f == 1 && profile != nil {
			stop = profile()
		}
		if err := g.grow(ctx, cfg, want); err != nil {
			if stop != nil {
				stop()
			}
			return nil, err
		}
		if stop != nil {
			stop()
		}
		build := time.Since(t)
		pt, err := g.measure(ctx, cfg)
		if err != nil {
			return nil, err
		}
		pt.Fraction, pt.Events, pt.BuildSeconds = f, g.sent-before, round2(build.Seconds())
		logf("scale %.0f%%: overlap p50 %.1fms, summary p50 %.1fms, gaps p50 %.1fms, calendar p50 %.1fms",
			f*100, pt.Overlap.P50, pt.Summary.P50, pt.Gaps.P50, pt.Calendar.P50)
		out.Points = append(out.Points, pt)
	}
	return out, nil
}
