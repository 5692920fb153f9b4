package app

import (
	"context"

	"github.com/copnet/copnet/services/knowledge/domain"
)

// Repository is what the application needs stored and loaded. Each method runs in the
// transaction ctx carries when there is one (InTx, or an event consumer's), and in its
// own otherwise; a method that changes state writes the events it causes to the outbox in
// that same transaction.
type Repository interface {
	// InTx runs fn in one transaction carried by the ctx it passes, so that every
	// repository call fn makes with it commits, or rolls back, together.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	// CoPRegion returns the region of an approved CoP; an unknown CoP is a 422 on field.
	CoPRegion(ctx context.Context, copID, field string) (string, error)
	// AcceptCoP records an approved CoP's region.
	AcceptCoP(ctx context.Context, copID, region string) error

	// Taxonomy loads the topics the given terms resolve to.
	Taxonomy(ctx context.Context, terms ...[]string) (domain.Taxonomy, error)
	// AddTopic stores a topic and its synonyms, renames every stored use of the synonyms to
	// the topic and publishes topic_added. It returns the projects whose topics or groups
	// it renamed and the regions with demand on the topic: what is to be judged again.
	AddTopic(ctx context.Context, t *Topic) (projects, regions []string, err error)
	Topics(ctx context.Context) ([]Topic, error)

	// AddProject stores a project mapped here (its topics and groups canonical), stamped
	// with this node as its origin, and publishes project_mapped.
	AddProject(ctx context.Context, p *Project) error
	// KeepProject stores a project from a project_mapped of any node (its topics and
	// groups canonical) unless the project is known.
	KeepProject(ctx context.Context, p *Project) error
	Projects(ctx context.Context, f ProjectFilter) ([]*Project, error)
	// OverlapCandidates returns project id and the projects that may overlap it given a
	// gap of gapDays. It holds detection's lock until the transaction ends: two projects
	// mapped at once would otherwise each miss the other.
	OverlapCandidates(ctx context.Context, id string, gapDays int) (*Project, []*Project, error)
	// RecordOverlap stores an overlap unless its pair is flagged already, and then
	// publishes overlap_detected.
	RecordOverlap(ctx context.Context, o Overlap) error
	Overlaps(ctx context.Context, f OverlapFilter) ([]Overlap, error)
	// Overlap loads one overlap; an unknown one is a 404.
	Overlap(ctx context.Context, id string) (Overlap, error)
	// ProjectsByID loads projects in the order of ids (those unknown left out).
	ProjectsByID(ctx context.Context, ids []string) ([]*Project, error)
	// ResolveOverlap sets an overlap's status and note under a row lock, after authorize
	// has seen it; a new status publishes overlap_resolved.
	ResolveOverlap(ctx context.Context, id, status, note string, authorize func(Overlap) error) (Overlap, error)

	// IsMember reports whether person is a current member of cop.
	IsMember(ctx context.Context, person, cop string) (bool, error)
	// IsMemberAnywhere reports whether person is a current member of any CoP.
	IsMemberAnywhere(ctx context.Context, person string) (bool, error)
	// MemberRegions lists the regions where person is a current member.
	MemberRegions(ctx context.Context, person string) ([]string, error)
	// IsErased reports whether person_erased was applied for person.
	IsErased(ctx context.Context, person string) (bool, error)
	// ApplyMembership records a membership change unless a later one of the same
	// membership was applied already; it reports whether it did.
	ApplyMembership(ctx context.Context, m Membership) (bool, error)
	// ExpertiseTopics lists the topics person declared from cop or without a CoP.
	ExpertiseTopics(ctx context.Context, person, cop string) ([]string, error)
	// ErasePerson scrubs a person: their expertise and memberships go, their requests and
	// answers lose the link to them and their words. It returns the supply that went and
	// the regions the person was an active member in.
	ErasePerson(ctx context.Context, person string) (lost []Supply, regions []string, err error)

	// DeclareExpertise stores a person's expertise (topics canonical), replacing what they
	// declared from the same CoP before, and publishes expertise_declared.
	DeclareExpertise(ctx context.Context, e *Expertise) error
	// Experts lists the declared expertise on any of topics that may be offered to a
	// request in region.
	Experts(ctx context.Context, topics []string, region string) ([]domain.Expert, error)
	// RaiseRequest stores a request and the experts it was routed to (in order) and
	// publishes request_raised.
	RaiseRequest(ctx context.Context, q *Request) error
	// LockRequest loads a request under a row lock, as caller sees it.
	LockRequest(ctx context.Context, id, caller string) (RequestAccess, error)
	// AnswerRequest stores an answer and publishes request_answered.
	AnswerRequest(ctx context.Context, ans *Answer) error
	// CloseRequest marks a request closed.
	CloseRequest(ctx context.Context, id string) error

	// ShareAsset stores an asset (topics canonical), its file's bytes when it has one, and
	// publishes asset_shared.
	ShareAsset(ctx context.Context, as *Asset) error
	// Assets lists the assets f.Viewer may see, newest first.
	Assets(ctx context.Context, f AssetFilter) ([]Asset, error)
	// AssetContent loads an uploaded file, bytes included, if viewer may see its asset
	// (nil otherwise, and for a link or an unknown asset).
	AssetContent(ctx context.Context, id string, viewer Viewer) (*AssetFile, error)

	// RecordSessionHeld stores a held session's topics (canonical) as supply and returns
	// its CoP's region ("" while the CoP is unknown).
	RecordSessionHeld(ctx context.Context, s HeldSession) (string, error)
	// SessionTopics returns the topics of a held session (none if unknown).
	SessionTopics(ctx context.Context, session string) ([]string, error)
	// RecordDemand stores demand (topics canonical) and returns its region (the CoP's
	// when the demand names none) and topics.
	RecordDemand(ctx context.Context, d Demand) (string, []string, error)
	// RefreshGaps judges topics in region again after demand or supply there changed: a
	// topic that has just become a gap is recorded and announced (gap_identified) once;
	// one that stopped being a gap is forgotten, so it is announced again if it comes back.
	RefreshGaps(ctx context.Context, region string, topics []string) error
	// Gaps lists the gaps of region (empty: every region).
	Gaps(ctx context.Context, region string) ([]Gap, error)

	RequestReader
}
