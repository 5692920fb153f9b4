package app

import (
	"time"

	"github.com/copnet/copnet/services/knowledge/domain"
)

// What the knowledge service keeps and shows. The repository loads and stores these; the
// ports show them (most as they are, projects through ports.ProjectView).

// Topic is one entry of the shared taxonomy.
type Topic struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Synonyms  []string  `json:"synonyms"`
	CreatedAt time.Time `json:"created_at"`
}

// Project is a mapped project or engagement.
type Project struct {
	domain.Project
	Title     string
	Methods   []string
	Origin    string
	CreatedAt time.Time
	// MappedBy is the person who mapped it on this node ("" for another node's project);
	// Contact is how CoPs whose work overlaps may reach its team.
	MappedBy, Contact string
}

// ProjectFilter selects projects; empty fields do not filter.
type ProjectFilter struct {
	CoP, Region, Topic string
	// MappedBy keeps the projects one person mapped (a member's own work).
	MappedBy string
	Limit    int
	// After starts the list after this project (keyset paging).
	After *ProjectCursor
}

// Overlap is two projects flagged together.
type Overlap struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Score      float64   `json:"score"`
	ProjectIDs []string  `json:"project_ids"`
	CoPIDs     []string  `json:"cop_ids"`
	Regions    []string  `json:"regions"`
	Status     string    `json:"status"`
	Note       string    `json:"note"`
	DetectedAt time.Time `json:"detected_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// Mappers are "cop|person" of each of its projects mapped here by a person: who, as a
	// member of that CoP, may act on it.
	Mappers []string `json:"-"`
}

// OverlapFilter selects overlaps; empty fields do not filter.
type OverlapFilter struct {
	Region, CoP, Kind, Status string
	// MappedBy keeps the overlaps touching a project this person mapped.
	MappedBy string
	Limit    int
}

// Expertise is a person's declared expertise.
type Expertise struct {
	ID         string   `json:"id"`
	PersonID   string   `json:"person_id"`
	CoPID      string   `json:"cop_id,omitempty"`
	Region     string   `json:"region,omitempty"`
	Topics     []string `json:"topics"`
	Level      string   `json:"level"`
	Visibility string   `json:"visibility"`
	// Name, Organisation and Description are the expert's card: what the people whose
	// requests reach them see.
	Name         string    `json:"name"`
	Organisation string    `json:"organisation"`
	Description  string    `json:"description"`
	CreatedAt    time.Time `json:"created_at"`
}

// Request is a request for information and the experts it was routed to.
type Request struct {
	ID        string     `json:"id"`
	CoPID     string     `json:"cop_id"`
	Region    string     `json:"region"`
	PersonID  string     `json:"person_id,omitempty"`
	Topics    []string   `json:"topics"`
	Question  string     `json:"question"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	Experts   []Matched  `json:"experts"`
}

// Matched is an expert a request was routed to.
type Matched struct {
	PersonID    string   `json:"person_id"`
	ExpertiseID string   `json:"expertise_id"`
	Proximity   string   `json:"proximity"`
	Level       string   `json:"level"`
	Topics      []string `json:"topics"`
}

// RequestAccess is what authorising a change to a request looks at.
type RequestAccess struct {
	CoPID, Region, PersonID, Status string
	// Matched: the caller is one of the experts the request was routed to, and still a
	// member of the CoP they declared that expertise from.
	Matched bool
	// Topics are the request's topics: its demand.
	Topics []string
}

// Answer is an answer to a request.
type Answer struct {
	ID        string    `json:"id"`
	RequestID string    `json:"request_id"`
	PersonID  string    `json:"person_id"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Asset is a reusable asset a CoP shared: a link (URL) or an uploaded file (File).
type Asset struct {
	ID         string     `json:"id"`
	CoPID      string     `json:"cop_id"`
	Region     string     `json:"region"`
	Title      string     `json:"title"`
	URL        string     `json:"url"`
	Topics     []string   `json:"topics"`
	Licence    string     `json:"licence"`
	Visibility string     `json:"visibility"`
	SharedBy   string     `json:"shared_by,omitempty"`
	File       *AssetFile `json:"file,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// AssetFile is an uploaded file: its name, its sniffed content type and size; Content
// only when it is stored or downloaded.
type AssetFile struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Content     []byte `json:"-"`
}

// AssetFilter selects the assets Viewer may see; empty fields do not filter.
type AssetFilter struct {
	Topic, Region, CoP string
	Viewer             Viewer
	Limit              int
}

// Viewer is who asks for assets, as their visibility needs it: national sees all; a
// person sees national ones, cop ones of the CoPs they belong to or coordinate (members
// as membership's events say) and of the regions they are hub of, and region ones of
// those regions and of the regions of their CoPs.
type Viewer struct {
	National     bool
	Person       string
	Coordinated  []string
	MemberOf     []string
	HubOfRegions []string
}

// Gap is a topic with demand in a region that no supply there meets (domain.Supplies).
type Gap struct {
	Region           string   `json:"region"`
	Topic            string   `json:"topic"`
	Demand           []string `json:"demand"`
	SupplyingRegions []string `json:"supplying_regions"`
}

// Membership is one member_joined or member_left, as the envelope dates it: the envelope's
// time orders the two (they reach separate consumers in any order), its id breaks ties.
type Membership struct {
	CoPID, PersonID, Region string
	Active                  bool
	Version                 time.Time
	EventID                 string
}

// HeldSession is a held session's topics as supply, at the time the session took place.
type HeldSession struct {
	SessionID, CoPID  string
	Topics            []string
	HeldAt, TookPlace time.Time
}

// Demand is topics feedback found people want to learn, or are not confident about.
type Demand struct {
	PollID, CoPID, Region, Reason string
	Topics                        []string
}

// Supply is topics that counted as supply in a region ("" : wherever its person is a
// member).
type Supply struct {
	Region string
	Topics []string
}
