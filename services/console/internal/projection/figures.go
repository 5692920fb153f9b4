package projection

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Stages are Wenger's stages in the order a CoP lives them; Statuses are the onboarding
// states in the order a CoP moves through them. Figures list every one, zeros included, so
// a page and a report always have the same columns.
var (
	Stages   = []string{"potential", "coalescing", "maturing", "stewardship", "transformation"}
	Statuses = []string{"proposed", "approved", "declined", "retired"}
)

// RecentWindow is what "recent" means for sessions held: the last 90 days.
const RecentWindow = 90 * 24 * time.Hour

// TrendPoints bounds a sparkline: the most recent points only.
const TrendPoints = 12

// QuietAfter is how long without events before a node's link is shown as quiet. Events
// are the console's only view of federation: a quiet node may be healthy with nothing to
// report, or cut off.
const QuietAfter = 24 * time.Hour

// Network is the national picture: the figures of the national page, GET
// /v1/network/summary and its CSV.
type Network struct {
	GeneratedAt time.Time       `json:"generated_at"`
	Totals      Totals          `json:"totals"`
	Regions     []RegionFigures `json:"regions"`
	Overlaps    []Overlap       `json:"overlaps"`
	Gaps        []Gap           `json:"gaps"`
	Federation  []Origin        `json:"federation"`
}

// Totals add up every region.
type Totals struct {
	CoPs             int `json:"cops"`
	Members          int `json:"members"`
	SessionsHeld90d  int `json:"sessions_held_90d"`
	AwaitingDecision int `json:"awaiting_decision"`
	OpenOverlaps     int `json:"open_overlaps"`
	Gaps             int `json:"gaps"`
}

// RegionFigures are one region's row on the national page.
type RegionFigures struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	CoPs         int            `json:"cops"`
	CoPsByStatus map[string]int `json:"cops_by_status"`
	CoPsByStage  map[string]int `json:"cops_by_stage"`
	Members      int            `json:"members"`
	// SessionsHeld90d counts sessions held in the 90 days before GeneratedAt.
	SessionsHeld90d int `json:"sessions_held_90d"`
	// AttendanceTrend is the attendance rate (0-1) of the latest sessions with attendance
	// recorded, oldest first.
	AttendanceTrend []float64 `json:"attendance_trend"`
	// ConfidenceTrend is the mean confidence (1-5) of the latest published session
	// evaluations, oldest first. Withheld evaluations never reach the console.
	ConfidenceTrend []float64  `json:"confidence_trend"`
	Onboarding      Onboarding `json:"onboarding"`
	// Declining counts CoPs whose participation scheduling flagged as declining.
	Declining int `json:"declining"`
}

// Onboarding is a region's pipeline: proposals awaiting a decision and decisions made.
type Onboarding struct {
	Proposed int `json:"proposed"`
	Approved int `json:"approved"`
	Declined int `json:"declined"`
}

// Overlap is two projects asking the same community (fatigue) or duplicating each other.
type Overlap struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Score       float64   `json:"score"`
	CoPs        []CoPRef  `json:"cops"`
	Regions     []string  `json:"regions"`
	CrossRegion bool      `json:"cross_region"`
	Status      string    `json:"status"`
	DetectedAt  time.Time `json:"detected_at"`
}

// CoPRef names a CoP.
type CoPRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Gap is demand on a topic in a region without supply there, and who could supply it.
type Gap struct {
	Region           string    `json:"region"`
	Topic            string    `json:"topic"`
	SupplyingRegions []string  `json:"supplying_regions"`
	IdentifiedAt     time.Time `json:"identified_at"`
}

// Origin is what the console knows of one node's link: the events it has sent.
type Origin struct {
	Node         string    `json:"node"`
	Events       int64     `json:"events"`
	FirstEventAt time.Time `json:"first_event_at"`
	LastEventAt  time.Time `json:"last_event_at"`
	// Health is "receiving" when the last event is under a day old, else "quiet".
	Health string `json:"health"`
}

// RegionDetail is the region page and GET /v1/network/regions/{id}.
type RegionDetail struct {
	RegionFigures
	Queue    []QueuedCoP `json:"queue"`
	Health   []CoPHealth `json:"cop_health"`
	Overlaps []Overlap   `json:"overlaps"`
	Gaps     []Gap       `json:"gaps"`
}

// QueuedCoP is a proposal awaiting the hub's decision.
type QueuedCoP struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Scope      string    `json:"scope"`
	Topics     []string  `json:"topics"`
	ProposedAt time.Time `json:"proposed_at"`
}

// CoPHealth is how one CoP is doing.
type CoPHealth struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Region          string     `json:"region"`
	Status          string     `json:"status"`
	Stage           string     `json:"stage"`
	AssessedStage   string     `json:"assessed_stage,omitempty"`
	CharterVersion  int        `json:"charter_version"`
	Members         int        `json:"members"`
	LastSessionAt   *time.Time `json:"last_session_at"`
	SessionsHeld90d int        `json:"sessions_held_90d"`
	AttendanceTrend []float64  `json:"attendance_trend"`
	Declining       bool       `json:"declining"`
	LatestCheckin   *Checkin   `json:"latest_checkin"`
}

// Checkin is the latest published answer to "is this CoP still meeting your needs?".
type Checkin struct {
	Responses   int            `json:"responses"`
	MeetsNeeds  map[string]int `json:"meets_needs"`
	PublishedAt time.Time      `json:"published_at"`
}

// YesShare is the share of check-in responses answering yes (0-1).
func (c *Checkin) YesShare() float64 {
	total := 0
	for _, n := range c.MeetsNeeds {
		total += n
	}
	if total == 0 {
		return 0
	}
	return float64(c.MeetsNeeds["yes"]) / float64(total)
}

// CoPDetail is the CoP page.
type CoPDetail struct {
	CoPHealth
	Scope    string    `json:"scope"`
	Topics   []string  `json:"topics"`
	Past     []Session `json:"past_sessions"`
	Upcoming []Session `json:"upcoming_sessions"`
	Polls    []Poll    `json:"polls"`
	Projects []Project `json:"projects"`
	Overlaps []Overlap `json:"overlaps"`
}

// Session is one session of a CoP.
type Session struct {
	ID        string     `json:"id"`
	Number    int        `json:"number"`
	Topic     string     `json:"topic"`
	StartsAt  *time.Time `json:"starts_at"`
	HeldAt    *time.Time `json:"held_at"`
	Cancelled bool       `json:"cancelled"`
	Attended  *int       `json:"attended"`
	Expected  *int       `json:"expected"`
	// Rate is attended / (attended + apologies + absent), when attendance was recorded.
	Rate *float64 `json:"attendance_rate"`
}

// Poll is a poll or evaluation with its published figures; Withheld means it closed
// without results, which feedback does below its minimum number of responses.
type Poll struct {
	ID             string         `json:"id"`
	SessionID      string         `json:"session_id,omitempty"`
	Kind           string         `json:"kind"`
	Purpose        string         `json:"purpose"`
	Closed         bool           `json:"closed"`
	Withheld       bool           `json:"withheld"`
	Responses      *int           `json:"responses"`
	ConfidenceMean *float64       `json:"confidence_mean"`
	UsefulnessMean *float64       `json:"usefulness_mean"`
	MeetsNeeds     map[string]int `json:"meets_needs,omitempty"`
}

// Project is a project a CoP mapped.
type Project struct {
	ID           string      `json:"id"`
	Title        string      `json:"title"`
	Organisation string      `json:"organisation"`
	Topics       []string    `json:"topics"`
	Communities  []Community `json:"communities"`
	StartsOn     string      `json:"starts_on"`
	EndsOn       string      `json:"ends_on"`
}

// Community is a place and population group a project engages.
type Community struct {
	Place string `json:"place"`
	Group string `json:"group"`
}

// Store reads the projection.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewStore returns the reader of the projection in pool.
func NewStore(pool *pgxpool.Pool, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, now: now}
}

// ErrNotFound is returned for a region or CoP the console has never heard of.
var ErrNotFound = fmt.Errorf("not found")

// snapshot is the whole projection read in one transaction, so that every figure of one
// page comes from the same moment.
type snapshot struct {
	now      time.Time
	regions  map[string]string
	cops     []copRow
	byID     map[string]*copRow
	members  map[string]int
	sessions []sessionRow
	polls    []pollRow
	projects []projectRow
	overlaps []Overlap
	gaps     []Gap
	origins  []Origin
}

type copRow struct {
	id, region, name, scope, status, stage, assessed string
	topics                                           []string
	statusAt                                         *time.Time
	charter                                          int
	declining                                        bool
}

type sessionRow struct {
	id, cop, topic              string
	number                      int
	startsAt, heldAt            *time.Time
	cancelled                   bool
	attended, apologies, absent *int
}

func (s sessionRow) rate() (float64, bool) {
	if s.attended == nil {
		return 0, false
	}
	total := *s.attended + deref(s.apologies) + deref(s.absent)
	if total == 0 {
		return 0, false
	}
	return float64(*s.attended) / float64(total), true
}

// when orders sessions on a trend: when held, else when planned.
func (s sessionRow) when() time.Time {
	switch {
	case s.heldAt != nil:
		return *s.heldAt
	case s.startsAt != nil:
		return *s.startsAt
	}
	return time.Time{}
}

type pollRow struct {
	id, cop, session, kind, purpose string
	closed                          bool
	responses                       *int
	confidence, usefulness          *float64
	meetsNeeds                      map[string]int
	publishedAt                     *time.Time
}

type projectRow struct {
	cop string
	p   Project
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func (s *Store) load(ctx context.Context) (*snapshot, error) {
	snap := &snapshot{now: s.now().UTC(), regions: map[string]string{}, byID: map[string]*copRow{}, members: map[string]int{}}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	steps := []func(context.Context, pgx.Tx) error{
		snap.loadRegions, snap.loadCoPs, snap.loadMembers, snap.loadSessions, snap.loadPolls,
		snap.loadProjects, snap.loadOverlaps, snap.loadGaps, snap.loadOrigins,
	}
	for _, step := range steps {
		if err := step(ctx, tx); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

func (s *snapshot) loadRegions(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, name FROM regions UNION SELECT DISTINCT region, '' FROM cops
		WHERE region <> '' AND region NOT IN (SELECT id FROM regions)`)
	if err != nil {
		return err
	}
	var id, name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		s.regions[id] = name
		return nil
	})
	return err
}

func (s *snapshot) loadCoPs(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, region, name, scope, topics, status, status_at, stage, charter_version,
		assessed_stage, declining FROM cops ORDER BY id`)
	if err != nil {
		return err
	}
	var c copRow
	_, err = pgx.ForEachRow(rows, []any{&c.id, &c.region, &c.name, &c.scope, &c.topics, &c.status, &c.statusAt,
		&c.stage, &c.charter, &c.assessed, &c.declining}, func() error {
		s.cops = append(s.cops, c)
		return nil
	})
	for i := range s.cops {
		s.byID[s.cops[i].id] = &s.cops[i]
	}
	return err
}

func (s *snapshot) loadMembers(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT cop_id, count(*) FROM memberships
		WHERE joined_at IS NOT NULL AND (left_at IS NULL OR joined_at > left_at) GROUP BY cop_id`)
	if err != nil {
		return err
	}
	var cop string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&cop, &n}, func() error {
		s.members[cop] = n
		return nil
	})
	return err
}

func (s *snapshot) loadSessions(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, cop_id, number, topic, starts_at, held_at, cancelled, attended, apologies, absent
		FROM sessions ORDER BY id`)
	if err != nil {
		return err
	}
	var r sessionRow
	_, err = pgx.ForEachRow(rows, []any{&r.id, &r.cop, &r.number, &r.topic, &r.startsAt, &r.heldAt, &r.cancelled,
		&r.attended, &r.apologies, &r.absent}, func() error {
		s.sessions = append(s.sessions, r)
		return nil
	})
	return err
}

func (s *snapshot) loadPolls(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, cop_id, session_id, kind, purpose, closed, responses, confidence_mean,
		usefulness_mean, meets_needs, published_at FROM polls ORDER BY id`)
	if err != nil {
		return err
	}
	var r pollRow
	var meets []byte
	_, err = pgx.ForEachRow(rows, []any{&r.id, &r.cop, &r.session, &r.kind, &r.purpose, &r.closed, &r.responses,
		&r.confidence, &r.usefulness, &meets, &r.publishedAt}, func() error {
		r.meetsNeeds = nil
		if meets != nil {
			if err := json.Unmarshal(meets, &r.meetsNeeds); err != nil {
				return err
			}
		}
		s.polls = append(s.polls, r)
		return nil
	})
	return err
}

func (s *snapshot) loadProjects(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, cop_id, title, organisation, topics, communities, starts_on, ends_on
		FROM projects ORDER BY starts_on, id`)
	if err != nil {
		return err
	}
	var r projectRow
	var communities []byte
	_, err = pgx.ForEachRow(rows, []any{&r.p.ID, &r.cop, &r.p.Title, &r.p.Organisation, &r.p.Topics, &communities,
		&r.p.StartsOn, &r.p.EndsOn}, func() error {
		r.p.Communities = nil
		if err := json.Unmarshal(communities, &r.p.Communities); err != nil {
			return err
		}
		s.projects = append(s.projects, r)
		return nil
	})
	return err
}

func (s *snapshot) loadOverlaps(ctx context.Context, tx pgx.Tx) error {
	// An overlap only resolved (its detection not yet consumed) has no projects to show.
	rows, err := tx.Query(ctx, `SELECT id, kind, score, cop_ids, regions, status, detected_at FROM cop_overlaps
		WHERE detected_at IS NOT NULL ORDER BY score DESC, id`)
	if err != nil {
		return err
	}
	var o Overlap
	var cops []string
	_, err = pgx.ForEachRow(rows, []any{&o.ID, &o.Kind, &o.Score, &cops, &o.Regions, &o.Status, &o.DetectedAt}, func() error {
		o.CoPs = make([]CoPRef, 0, len(cops))
		for _, id := range cops {
			o.CoPs = append(o.CoPs, CoPRef{ID: id})
		}
		o.Regions = slices.Clone(o.Regions)
		slices.Sort(o.Regions)
		o.Regions = slices.Compact(o.Regions)
		o.CrossRegion = len(o.Regions) > 1
		o.DetectedAt = o.DetectedAt.UTC()
		s.overlaps = append(s.overlaps, o)
		return nil
	})
	if err != nil {
		return err
	}
	for i := range s.overlaps {
		for j := range s.overlaps[i].CoPs {
			if c := s.byID[s.overlaps[i].CoPs[j].ID]; c != nil {
				s.overlaps[i].CoPs[j].Name = c.name
			}
		}
	}
	return nil
}

func (s *snapshot) loadGaps(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT region, topic, supplying_regions, identified_at FROM gaps ORDER BY region, topic`)
	if err != nil {
		return err
	}
	var g Gap
	_, err = pgx.ForEachRow(rows, []any{&g.Region, &g.Topic, &g.SupplyingRegions, &g.IdentifiedAt}, func() error {
		g.IdentifiedAt = g.IdentifiedAt.UTC()
		g.SupplyingRegions = slices.Clone(g.SupplyingRegions)
		s.gaps = append(s.gaps, g)
		return nil
	})
	return err
}

func (s *snapshot) loadOrigins(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT node, events, first_event_at, last_event_at FROM origins ORDER BY node`)
	if err != nil {
		return err
	}
	var o Origin
	_, err = pgx.ForEachRow(rows, []any{&o.Node, &o.Events, &o.FirstEventAt, &o.LastEventAt}, func() error {
		o.FirstEventAt, o.LastEventAt = o.FirstEventAt.UTC(), o.LastEventAt.UTC()
		o.Health = "receiving"
		if s.now.Sub(o.LastEventAt) > QuietAfter {
			o.Health = "quiet"
		}
		s.origins = append(s.origins, o)
		return nil
	})
	return err
}

// regionIDs lists the regions in id order.
func (s *snapshot) regionIDs() []string {
	ids := make([]string, 0, len(s.regions))
	for id := range s.regions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (s *snapshot) heldRecently(r sessionRow) bool {
	return r.heldAt != nil && !r.heldAt.After(s.now) && s.now.Sub(*r.heldAt) <= RecentWindow
}

// attendanceTrend is the attendance rate of the latest sessions of the CoPs in keep.
func (s *snapshot) attendanceTrend(keep func(cop string) bool) []float64 {
	var pts []sessionRow
	for _, r := range s.sessions {
		if _, ok := r.rate(); ok && keep(r.cop) {
			pts = append(pts, r)
		}
	}
	slices.SortFunc(pts, func(a, b sessionRow) int {
		return cmp.Or(a.when().Compare(b.when()), cmp.Compare(a.id, b.id))
	})
	out := []float64{}
	for _, r := range lastN(pts, TrendPoints) {
		rate, _ := r.rate()
		out = append(out, round(rate, 3))
	}
	return out
}

func (s *snapshot) confidenceTrend(keep func(cop string) bool) []float64 {
	var pts []pollRow
	for _, p := range s.polls {
		if p.purpose == "evaluation" && p.confidence != nil && p.publishedAt != nil && keep(p.cop) {
			pts = append(pts, p)
		}
	}
	slices.SortFunc(pts, func(a, b pollRow) int {
		return cmp.Or(a.publishedAt.Compare(*b.publishedAt), cmp.Compare(a.id, b.id))
	})
	out := []float64{}
	for _, p := range lastN(pts, TrendPoints) {
		out = append(out, round(*p.confidence, 2))
	}
	return out
}

func lastN[T any](s []T, n int) []T {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func round(f float64, places int) float64 {
	p := 1.0
	for range places {
		p *= 10
	}
	return float64(int64(f*p+0.5)) / p
}

func (s *snapshot) regionFigures(id string) RegionFigures {
	f := RegionFigures{ID: id, Name: s.regions[id], CoPsByStatus: map[string]int{}, CoPsByStage: map[string]int{}}
	if f.Name == "" {
		f.Name = id
	}
	for _, st := range Statuses {
		f.CoPsByStatus[st] = 0
	}
	for _, st := range Stages {
		f.CoPsByStage[st] = 0
	}
	inRegion := func(cop string) bool {
		c := s.byID[cop]
		return c != nil && c.region == id && c.status != ""
	}
	for _, c := range s.cops {
		if !inRegion(c.id) {
			continue
		}
		f.CoPs++
		f.CoPsByStatus[c.status]++
		if c.stage != "" && (c.status == "proposed" || c.status == "approved") {
			// Stages describe living CoPs: a declined or retired one has none to count.
			f.CoPsByStage[c.stage]++
		}
		f.Members += s.members[c.id]
		if c.declining && c.status != "retired" {
			f.Declining++
		}
		switch c.status {
		case "proposed":
			f.Onboarding.Proposed++
		case "approved", "retired":
			// A retired CoP was approved once; the pipeline counts decisions made.
			f.Onboarding.Approved++
		case "declined":
			f.Onboarding.Declined++
		}
	}
	for _, r := range s.sessions {
		if inRegion(r.cop) && s.heldRecently(r) && !r.cancelled {
			f.SessionsHeld90d++
		}
	}
	f.AttendanceTrend = s.attendanceTrend(inRegion)
	f.ConfidenceTrend = s.confidenceTrend(inRegion)
	return f
}

// Network returns the national picture.
func (s *Store) Network(ctx context.Context) (*Network, error) {
	snap, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	n := &Network{GeneratedAt: snap.now, Regions: []RegionFigures{}, Overlaps: []Overlap{}, Gaps: slices.Clone(snap.gaps), Federation: snap.origins}
	if n.Gaps == nil {
		n.Gaps = []Gap{}
	}
	if n.Federation == nil {
		n.Federation = []Origin{}
	}
	for _, id := range snap.regionIDs() {
		f := snap.regionFigures(id)
		n.Regions = append(n.Regions, f)
		n.Totals.CoPs += f.CoPs
		n.Totals.Members += f.Members
		n.Totals.SessionsHeld90d += f.SessionsHeld90d
		n.Totals.AwaitingDecision += f.Onboarding.Proposed
	}
	for _, o := range snap.overlaps {
		if o.Status == "open" {
			n.Overlaps = append(n.Overlaps, o)
		}
	}
	n.Totals.OpenOverlaps = len(n.Overlaps)
	n.Totals.Gaps = len(n.Gaps)
	return n, nil
}

// Region returns one region's page; ErrNotFound when the console has never heard of it.
func (s *Store) Region(ctx context.Context, id string) (*RegionDetail, error) {
	snap, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	if _, ok := snap.regions[id]; !ok {
		return nil, ErrNotFound
	}
	d := &RegionDetail{RegionFigures: snap.regionFigures(id), Queue: []QueuedCoP{}, Health: []CoPHealth{}, Overlaps: []Overlap{}, Gaps: []Gap{}}
	for _, c := range snap.cops {
		if c.region != id || c.status == "" {
			continue
		}
		if c.status == "proposed" {
			q := QueuedCoP{ID: c.id, Name: c.name, Scope: c.scope, Topics: nonNil(c.topics)}
			if c.statusAt != nil {
				q.ProposedAt = c.statusAt.UTC()
			}
			d.Queue = append(d.Queue, q)
			continue
		}
		if c.status == "declined" {
			continue // a declined proposal has no health to watch
		}
		d.Health = append(d.Health, snap.health(c))
	}
	slices.SortFunc(d.Queue, func(a, b QueuedCoP) int {
		return cmp.Or(a.ProposedAt.Compare(b.ProposedAt), cmp.Compare(a.ID, b.ID))
	})
	for _, o := range snap.overlaps {
		if o.Status == "open" && slices.Contains(o.Regions, id) {
			d.Overlaps = append(d.Overlaps, o)
		}
	}
	for _, g := range snap.gaps {
		if g.Region == id {
			d.Gaps = append(d.Gaps, g)
		}
	}
	return d, nil
}

func (s *snapshot) health(c copRow) CoPHealth {
	h := CoPHealth{
		ID: c.id, Name: c.name, Region: c.region, Status: c.status, Stage: c.stage, AssessedStage: c.assessed,
		CharterVersion: c.charter, Members: s.members[c.id], Declining: c.declining,
	}
	if h.Name == "" {
		h.Name = c.id
	}
	for _, r := range s.sessions {
		if r.cop != c.id || r.heldAt == nil || r.cancelled {
			continue
		}
		if h.LastSessionAt == nil || r.heldAt.After(*h.LastSessionAt) {
			t := r.heldAt.UTC()
			h.LastSessionAt = &t
		}
		if s.heldRecently(r) {
			h.SessionsHeld90d++
		}
	}
	h.AttendanceTrend = s.attendanceTrend(func(cop string) bool { return cop == c.id })
	for _, p := range s.polls {
		if p.cop != c.id || p.purpose != "checkin" || p.meetsNeeds == nil || p.publishedAt == nil {
			continue
		}
		if h.LatestCheckin == nil || p.publishedAt.After(h.LatestCheckin.PublishedAt) {
			h.LatestCheckin = &Checkin{Responses: deref(p.responses), MeetsNeeds: p.meetsNeeds, PublishedAt: p.publishedAt.UTC()}
		}
	}
	return h
}

// CoP returns one CoP's page; ErrNotFound when the console has never heard of it.
func (s *Store) CoP(ctx context.Context, id string) (*CoPDetail, error) {
	snap, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	c := snap.byID[id]
	if c == nil {
		return nil, ErrNotFound
	}
	d := &CoPDetail{CoPHealth: snap.health(*c), Scope: c.scope, Topics: nonNil(c.topics),
		Past: []Session{}, Upcoming: []Session{}, Polls: []Poll{}, Projects: []Project{}, Overlaps: []Overlap{}}
	for _, r := range snap.sessions {
		if r.cop != id {
			continue
		}
		v := Session{ID: r.id, Number: r.number, Topic: r.topic, StartsAt: utc(r.startsAt), HeldAt: utc(r.heldAt),
			Cancelled: r.cancelled, Attended: r.attended}
		if rate, ok := r.rate(); ok {
			rate = round(rate, 3)
			v.Rate = &rate
			expected := *r.attended + deref(r.apologies) + deref(r.absent)
			v.Expected = &expected
		}
		if r.heldAt == nil && !r.cancelled && r.startsAt != nil && r.startsAt.After(snap.now) {
			d.Upcoming = append(d.Upcoming, v)
		} else {
			d.Past = append(d.Past, v)
		}
	}
	byWhen := func(a, b Session) int {
		return cmp.Or(sessionTime(a).Compare(sessionTime(b)), cmp.Compare(a.ID, b.ID))
	}
	slices.SortFunc(d.Past, func(a, b Session) int { return byWhen(b, a) })
	slices.SortFunc(d.Upcoming, byWhen)
	for _, p := range snap.polls {
		if p.cop != id {
			continue
		}
		d.Polls = append(d.Polls, Poll{ID: p.id, SessionID: p.session, Kind: p.kind, Purpose: p.purpose,
			Closed: p.closed, Withheld: p.closed && p.publishedAt == nil, Responses: p.responses,
			ConfidenceMean: p.confidence, UsefulnessMean: p.usefulness, MeetsNeeds: p.meetsNeeds})
	}
	for _, p := range snap.projects {
		if p.cop == id {
			d.Projects = append(d.Projects, p.p)
		}
	}
	for _, o := range snap.overlaps {
		if o.Status == "open" && slices.ContainsFunc(o.CoPs, func(r CoPRef) bool { return r.ID == id }) {
			d.Overlaps = append(d.Overlaps, o)
		}
	}
	return d, nil
}

func sessionTime(s Session) time.Time {
	switch {
	case s.HeldAt != nil:
		return *s.HeldAt
	case s.StartsAt != nil:
		return *s.StartsAt
	}
	return time.Time{}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// RegionOf returns the region of a CoP, for scope checks; ErrNotFound for an unknown CoP.
func (s *Store) RegionOf(ctx context.Context, cop string) (string, error) {
	var region string
	err := s.pool.QueryRow(ctx, `SELECT region FROM cops WHERE id = $1`, cop).Scan(&region)
	if err == pgx.ErrNoRows {
		return "", ErrNotFound
	}
	return region, err
}
