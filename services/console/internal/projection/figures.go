package projection

import "time"

// Stages are Wenger's stages in the order a CoP lives them; Statuses are the states a CoP
// moves through as the console shows them. Figures list every one, zeros included, so a page
// and a report always have the same columns.
//
// The registry stores proposed, approved, declined and retired; active and dormant are the
// console's reading of an approved CoP by its sessions (see Status).
var (
	Stages   = []string{"potential", "coalescing", "maturing", "stewardship", "transformation"}
	Statuses = []string{"proposed", "approved", "active", "dormant", "declined", "retired"}
)

// RecentWindow is what "recent" means for sessions held, and how long an approved CoP may
// go without a session before it counts as dormant: 90 days.
const RecentWindow = 90 * 24 * time.Hour

// Status is the status the console shows for a CoP whose registry status is stored,
// approved at approvedAt, whose latest held session took place at lastHeld (nil: none):
// an approved CoP is active while it has held a session in the RecentWindow before now,
// dormant once RecentWindow has passed since both its approval and its latest session,
// and approved in between (approved recently, no session yet). Sessions count by when they
// took place, not when they were recorded.
func Status(stored string, approvedAt, lastHeld *time.Time, now time.Time) string {
	if stored != "approved" {
		return stored
	}
	lo := now.Add(-RecentWindow)
	if lastHeld != nil && !lastHeld.Before(lo) {
		return "active"
	}
	quiet := approvedAt
	if quiet == nil || (lastHeld != nil && lastHeld.After(*quiet)) {
		quiet = lastHeld
	}
	if quiet != nil && quiet.Before(lo) {
		return "dormant"
	}
	return "approved"
}

// TrendPoints bounds a sparkline: the most recent points only.
const TrendPoints = 12

// OverlapsShown bounds the overlaps a summary or a region page lists: the ones to act on
// first.
const OverlapsShown = 100

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
	// Overlaps are the open overlaps with the highest scores, at most OverlapsShown of
	// them; Totals.OpenOverlaps counts them all and GET /v1/network/overlaps lists them all.
	Overlaps   []Overlap `json:"overlaps"`
	Gaps       []Gap     `json:"gaps"`
	Federation []Origin  `json:"federation"`
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
	// Approved counts every CoP approved once: approved, active, dormant and retired.
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
	Queue  []QueuedCoP `json:"queue"`
	Health []CoPHealth `json:"cop_health"`
	// Overlaps are the open overlaps touching the region with the highest scores, at most
	// OverlapsShown of them.
	Overlaps []Overlap `json:"overlaps"`
	Gaps     []Gap     `json:"gaps"`
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
	// Expected is the rate's denominator: the members on the roster when the session took
	// place, or for older records the people recorded (attended + apologies + absent).
	// Rate is members present ÷ Expected, when attendance was recorded.
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
