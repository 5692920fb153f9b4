// Package app is everything the feedback service's ports may ask of it: commands that
// change state, queries that read it, each checking who may do it, and the reactions to
// other services' events.
package app

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/feedback/domain"
)

// How long the polls the service opens by itself stay open.
const (
	EvaluationOpenFor = 7 * 24 * time.Hour
	CheckinOpenFor    = 14 * 24 * time.Hour
)

// Repository is what the application needs of storage. Each change commits with the events
// it causes; a change made while ctx carries a transaction (a consumed event's) joins it.
type Repository interface {
	// Projections of other services' events.
	PutCoP(ctx context.Context, id, region string) error
	AddMember(ctx context.Context, cop, region, person string, at time.Time) error
	RemoveMember(ctx context.Context, cop, person string, at time.Time) error
	ErasePerson(ctx context.Context, person string) error
	CoPRegion(ctx context.Context, id string) (region string, known bool, err error)
	IsMember(ctx context.Context, cop, person string) (bool, error)

	// Polls and their answers.
	Poll(ctx context.Context, id string) (*domain.Poll, error)
	PollByCode(ctx context.Context, code string) (*domain.Poll, error)
	SessionPoll(ctx context.Context, session, purpose string) (*domain.Poll, error)
	PollsOf(ctx context.Context, cop, purpose string) ([]*domain.Poll, error)
	CreatePoll(ctx context.Context, p *domain.Poll) error
	OpenForSession(ctx context.Context, p *domain.Poll) (bool, error)
	IssueBallot(ctx context.Context, poll, person string, now time.Time) error
	RespondWithBallot(ctx context.Context, poll string, ballotHash []byte, a domain.Answer, now time.Time) error
	RespondFromDevice(ctx context.Context, poll string, deviceHash []byte, a domain.Answer, now time.Time) error
	Answers(ctx context.Context, p *domain.Poll) ([]domain.Answer, error)
	Close(ctx context.Context, id string, now time.Time) (*domain.Poll, error)
	DuePolls(ctx context.Context, now time.Time) ([]string, error)

	AddAssessment(ctx context.Context, id, cop string, answers map[string]string, a domain.Assessment, now time.Time) error
	Assessments(ctx context.Context, cop string) ([]StageAssessment, error)

	// What awaits a member: open members' polls of their CoPs, and which of the given
	// (poll, issuance hash) pairs have a ballot issued.
	OpenMembersPolls(ctx context.Context, person string, now time.Time) ([]*domain.Poll, error)
	BallotsIssued(ctx context.Context, polls []string, hashes [][]byte) ([]string, error)
}

// Application is the feedback service's use cases.
type Application struct {
	repo Repository
	keys *domain.Keys
	now  func() time.Time
}

// New returns the application over repo, keying ballots with keys, telling time with now.
func New(repo Repository, keys *domain.Keys, now func() time.Time) *Application {
	return &Application{repo: repo, keys: keys, now: now}
}

// Now is the service's clock.
func (a *Application) Now() time.Time { return a.now() }

// access is what a caller may do with one CoP's feedback.
type access struct {
	manage bool // open and close polls, assess the stage: national, the region's hub, the coordinator
	see    bool // read polls and results: those, and the CoP's members
}

func (a *Application) access(ctx context.Context, c httpx.Claims, cop string) (access, error) {
	region, _, err := a.repo.CoPRegion(ctx, cop)
	if err != nil {
		return access{}, err
	}
	ac := access{manage: c.IsNational() || c.IsHubOf(region) || c.IsCoordinatorOf(cop)}
	ac.see = ac.manage
	if !ac.see && c.Signed() {
		if ac.see, err = a.repo.IsMember(ctx, cop, c.Subject); err != nil {
			return access{}, err
		}
	}
	return ac, nil
}

func (a *Application) authorize(ctx context.Context, c httpx.Claims, cop string, manage bool, what string) error {
	if err := httpx.Authorize(c, c.Signed(), what); err != nil {
		return err
	}
	ac, err := a.access(ctx, c, cop)
	if err != nil {
		return err
	}
	return httpx.Authorize(c, ac.see && (ac.manage || !manage), what)
}

// loadPoll returns a poll the caller may see (or manage).
func (a *Application) loadPoll(ctx context.Context, c httpx.Claims, id string, manage bool, what string) (*domain.Poll, error) {
	if err := httpx.Authorize(c, c.Signed(), what); err != nil {
		return nil, err
	}
	p, err := a.repo.Poll(ctx, id)
	if err != nil {
		return nil, err
	}
	return p, a.authorize(ctx, c, p.CoPID, manage, what)
}

// NewPoll is the input of CreatePoll: one question, and who may answer it.
type NewPoll struct {
	CoPID        string        `json:"cop_id"`
	SessionID    string        `json:"session_id"`
	Kind         domain.Kind   `json:"kind"`
	Question     string        `json:"question"`
	Options      []string      `json:"options"`
	Scale        *domain.Scale `json:"scale"`
	Audience     string        `json:"audience"`
	MinResponses *int          `json:"min_responses"`
	ClosesAt     *time.Time    `json:"closes_at"`
	// Purpose is poll (default) or learning_priorities, for a ranking of learning topics
	// that knowledge reads as demand.
	Purpose string `json:"purpose"`
}

// validate fills in's defaults and checks it as asked for at now, naming the request's
// fields; it returns the poll's one question and its threshold.
func (in *NewPoll) validate(now time.Time) (domain.Question, int, error) {
	if in.Audience == "" {
		in.Audience = domain.AudienceMembers
	}
	if in.Purpose == "" {
		in.Purpose = domain.PurposePoll
	}
	minResponses := domain.DefaultMinResponses
	if in.MinResponses != nil {
		minResponses = *in.MinResponses
	}
	if in.Options == nil {
		in.Options = []string{}
	}
	q := domain.Question{Key: "answer", Kind: in.Kind, Prompt: strings.TrimSpace(in.Question), Options: in.Options, Scale: in.Scale}
	var v apperr.Validator
	domain.ValidateQuestion(&v, q)
	v.Check(in.Audience == domain.AudienceMembers || in.Audience == domain.AudienceOpen, "audience", "must be members or open")
	v.Check(minResponses >= domain.MinMinResponses && minResponses <= 10_000, "min_responses", "must be between 3 and 10000: fewer would expose individual answers")
	v.Check(in.ClosesAt == nil || in.ClosesAt.After(now), "closes_at", "must be in the future")
	v.Check(len(in.SessionID) <= 64, "session_id", "is at most 64 characters")
	v.Check(in.Purpose == domain.PurposePoll || (in.Purpose == domain.PurposeLearningPriorities && in.Kind == domain.KindRanking),
		"purpose", "must be poll, or learning_priorities for a ranking")
	return q, minResponses, v.Err()
}

// CreatePoll opens a poll (the CoP's coordinator, its hub, national).
func (a *Application) CreatePoll(ctx context.Context, c httpx.Claims, in NewPoll) (*domain.Poll, error) {
	if err := httpx.Authorize(c, c.IsNational() || c.Holds(httpx.RoleHub) || c.IsCoordinatorOf(in.CoPID), "open polls for this CoP"); err != nil {
		return nil, err
	}
	if in.CoPID == "" {
		return nil, apperr.Invalid("cop_id", "is required")
	}
	if err := a.authorize(ctx, c, in.CoPID, true, "open polls for this CoP"); err != nil {
		return nil, err
	}
	now := a.now()
	q, minResponses, err := in.validate(now)
	if err != nil {
		return nil, err
	}
	if _, known, err := a.repo.CoPRegion(ctx, in.CoPID); err != nil || !known {
		if err == nil {
			err = apperr.Unprocessable("cop_id", "is not an approved CoP")
		}
		return nil, err
	}
	p := &domain.Poll{
		ID: strings.ToLower(events.NewID()), CoPID: in.CoPID, SessionID: in.SessionID, Kind: string(in.Kind),
		Purpose: in.Purpose, Audience: in.Audience, Questions: []domain.Question{q}, MinResponses: minResponses,
		OpenedAt: now, ClosesAt: in.ClosesAt,
	}
	return p, a.repo.CreatePoll(ctx, p)
}

// Poll returns a poll to those who may see its CoP's feedback.
func (a *Application) Poll(ctx context.Context, c httpx.Claims, id string) (*domain.Poll, error) {
	return a.loadPoll(ctx, c, id, false, "see this poll")
}

// PollByCode returns the open poll a room is answering; anyone in the room may read it.
func (a *Application) PollByCode(ctx context.Context, code string) (*domain.Poll, error) {
	return a.repo.PollByCode(ctx, strings.ToUpper(code))
}

// PollsOf lists a CoP's polls, evaluations and check-ins. A CoP this service does not know
// is not found (after the access check, so a hub learns nothing of other regions' ids):
// a client tells "no polls yet" from "not kept here".
func (a *Application) PollsOf(ctx context.Context, c httpx.Claims, cop string) ([]*domain.Poll, error) {
	if err := a.authorize(ctx, c, cop, false, "see this CoP's polls"); err != nil {
		return nil, err
	}
	if _, known, err := a.repo.CoPRegion(ctx, cop); err != nil || !known {
		if err == nil {
			err = apperr.NotFound("CoP %q is not an approved CoP this service knows", cop)
		}
		return nil, err
	}
	return a.repo.PollsOf(ctx, cop, "")
}

// IssueBallot gives a member of the poll's CoP their one ballot. The ballot is returned
// and forgotten: only the fact that this member got one is kept.
func (a *Application) IssueBallot(ctx context.Context, c httpx.Claims, id string) (string, error) {
	if err := httpx.Authorize(c, c.Signed(), "take a ballot (members only)"); err != nil {
		return "", err
	}
	p, err := a.repo.Poll(ctx, id)
	if err != nil {
		return "", err
	}
	member, err := a.repo.IsMember(ctx, p.CoPID, c.Subject)
	if err != nil {
		return "", err
	}
	if err := httpx.Authorize(c, member, "take a ballot for another CoP's poll"); err != nil {
		return "", err
	}
	if p.Audience != domain.AudienceMembers {
		return "", apperr.Conflict("this poll is open to the room: answer it by its code, without a ballot")
	}
	if err := a.repo.IssueBallot(ctx, p.ID, c.Subject, a.now()); err != nil {
		return "", err
	}
	return a.keys.IssueBallot(p.ID), nil
}

// Respond records a member's answer with their ballot. It asks for no identity: the
// ballot is the only proof needed, and it says nothing about who holds it.
func (a *Application) Respond(ctx context.Context, id, ballot string, answer json.RawMessage) error {
	p, err := a.repo.Poll(ctx, id)
	if err != nil {
		return err
	}
	if p.Audience != domain.AudienceMembers {
		return apperr.Conflict("this poll is open to the room: answer it by its code")
	}
	hash, ok := a.keys.CheckBallot(p.ID, ballot)
	if !ok {
		return apperr.Invalid("ballot", "is not a ballot of this poll")
	}
	ans, err := domain.ParseAnswer(p.Questions, answer)
	if err != nil {
		return err
	}
	return a.repo.RespondWithBallot(ctx, p.ID, hash, ans, a.now())
}

// RespondByCode records an answer from a device in the room: one per device token.
func (a *Application) RespondByCode(ctx context.Context, code, device string, answer json.RawMessage) error {
	p, err := a.repo.PollByCode(ctx, strings.ToUpper(code))
	if err != nil {
		return err
	}
	if n := len(device); n < 16 || n > 200 {
		return apperr.Invalid("device_token", "must be a random token of 16 to 200 characters, the same for every answer from this device")
	}
	ans, err := domain.ParseAnswer(p.Questions, answer)
	if err != nil {
		return err
	}
	return a.repo.RespondFromDevice(ctx, p.ID, a.keys.DeviceHash(p.ID, device), ans, a.now())
}

// Close closes a poll (the CoP's coordinator, its hub, national) and publishes its results
// when enough people answered.
func (a *Application) Close(ctx context.Context, c httpx.Claims, id string) (*domain.Poll, error) {
	if _, err := a.loadPoll(ctx, c, id, true, "close this poll"); err != nil {
		return nil, err
	}
	return a.repo.Close(ctx, id, a.now())
}

// CloseDue closes every poll whose closing time has passed; the service runs it now and
// then. It returns how many it closed.
func (a *Application) CloseDue(ctx context.Context) (int, error) {
	ids, err := a.repo.DuePolls(ctx, a.now())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		_, err := a.repo.Close(ctx, id, a.now())
		if k, _ := apperr.KindOf(err); k == apperr.KindConflict {
			continue // closed meanwhile by hand or by another instance
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Results returns a poll's aggregates, or says they are withheld: below the poll's
// minimum number of responses, and for members' polls until they close (watching live
// results move would tell who answered what). Live results of an open poll count only
// the first floor(n/k)*k answers (k its minimum), so they move in steps of k answers and
// reading them before and after one answer tells nothing about it.
func (a *Application) Results(ctx context.Context, c httpx.Claims, id string) (*domain.Poll, domain.Results, error) {
	p, err := a.loadPoll(ctx, c, id, false, "see this poll's results")
	if err != nil {
		return nil, domain.Results{}, err
	}
	res, err := a.results(ctx, p)
	return p, res, err
}

func (a *Application) results(ctx context.Context, p *domain.Poll) (domain.Results, error) {
	closed := p.Closed(a.now())
	if p.Audience == domain.AudienceMembers && !closed {
		return domain.Results{Withheld: true, Reason: domain.WithheldUntilClosed}, nil
	}
	// A poll past its closing time that the closer has not reached yet counts every
	// answer, as its close will.
	as, err := a.repo.Answers(ctx, p)
	if err != nil {
		return domain.Results{}, err
	}
	if !closed {
		as = as[:domain.LiveCount(len(as), p.MinResponses)]
	}
	return domain.TallyContext(ctx, p.Questions, as, p.MinResponses)
}

// SessionEvaluation returns the evaluation of a session and its results.
func (a *Application) SessionEvaluation(ctx context.Context, c httpx.Claims, session string) (*domain.Poll, domain.Results, error) {
	if err := httpx.Authorize(c, c.Signed(), "see session evaluations"); err != nil {
		return nil, domain.Results{}, err
	}
	p, err := a.repo.SessionPoll(ctx, session, domain.PurposeEvaluation)
	if err != nil {
		return nil, domain.Results{}, err
	}
	if err := a.authorize(ctx, c, p.CoPID, false, "see this session's evaluation"); err != nil {
		return nil, domain.Results{}, err
	}
	res, err := a.results(ctx, p)
	return p, res, err
}

// SessionConfidence is one point of a CoP's confidence trend.
type SessionConfidence struct {
	SessionID string    `json:"session_id"`
	PollID    string    `json:"poll_id"`
	HeldAt    time.Time `json:"held_at"`
	Withheld  bool      `json:"withheld"`
	Reason    string    `json:"reason,omitempty"`
	Responses int       `json:"responses,omitempty"`
	Mean      *float64  `json:"mean,omitempty"`
}

// Confidence is the mean confidence of each session's evaluation, oldest first; the
// thresholds of each evaluation apply.
func (a *Application) Confidence(ctx context.Context, c httpx.Claims, cop string) ([]SessionConfidence, error) {
	if err := a.authorize(ctx, c, cop, false, "see this CoP's confidence"); err != nil {
		return nil, err
	}
	polls, err := a.repo.PollsOf(ctx, cop, domain.PurposeEvaluation)
	if err != nil {
		return nil, err
	}
	out := []SessionConfidence{}
	for _, p := range polls {
		res, err := a.results(ctx, p)
		if err != nil {
			return nil, err
		}
		point := SessionConfidence{SessionID: p.SessionID, PollID: p.ID, HeldAt: p.OpenedAt, Withheld: res.Withheld, Reason: res.Reason, Responses: res.Responses}
		if i := slices.IndexFunc(res.Questions, func(q domain.QuestionResult) bool { return q.Key == domain.KeyConfidence }); i >= 0 {
			point.Mean = res.Questions[i].Mean
		}
		out = append(out, point)
	}
	return out, nil
}

// StageQuiz returns the stage quiz to anyone, signed in or not: it is public, for groups
// that have no CoP yet as much as for CoPs.
func (a *Application) StageQuiz() []domain.QuizQuestion {
	return domain.Quiz
}

// StageAssessment is a stored quiz outcome.
type StageAssessment struct {
	ID         string    `json:"id"`
	CoPID      string    `json:"cop_id"`
	AssessedAt time.Time `json:"assessed_at"`
	domain.Assessment
}

// AssessStage scores the quiz for a CoP (its coordinator, its hub, national) and publishes
// stage_assessed.
func (a *Application) AssessStage(ctx context.Context, c httpx.Claims, cop string, answers map[string]string) (*StageAssessment, error) {
	if err := a.authorize(ctx, c, cop, true, "assess this CoP's stage"); err != nil {
		return nil, err
	}
	if _, known, err := a.repo.CoPRegion(ctx, cop); err != nil || !known {
		if err == nil {
			err = apperr.NotFound("CoP %q is not an approved CoP", cop)
		}
		return nil, err
	}
	as, err := domain.Assess(answers)
	if err != nil {
		return nil, err
	}
	now := a.now()
	out := &StageAssessment{ID: strings.ToLower(events.NewID()), CoPID: cop, AssessedAt: now, Assessment: as}
	return out, a.repo.AddAssessment(ctx, out.ID, cop, answers, as, now)
}

// Reactions to other services' events. The bus runs each in the consumer's transaction,
// which ctx carries: the repository joins it, so the change, the events it publishes and
// the record that the event was processed commit together.

// OnCoPApproved accepts a CoP.
func (a *Application) OnCoPApproved(ctx context.Context, ev events.CoPApproved, _ events.Envelope) error {
	return a.repo.PutCoP(ctx, ev.CoPID, ev.Region)
}

// OnMemberJoined lets the person take ballots for the CoP's polls, unless a later leave
// was applied already.
func (a *Application) OnMemberJoined(ctx context.Context, ev events.MemberJoined, env events.Envelope) error {
	return a.repo.AddMember(ctx, ev.CoPID, ev.Region, ev.PersonID, env.Time)
}

// OnMemberLeft stops the person taking new ballots for the CoP, unless a later join was
// applied already.
func (a *Application) OnMemberLeft(ctx context.Context, ev events.MemberLeft, env events.Envelope) error {
	return a.repo.RemoveMember(ctx, ev.CoPID, ev.PersonID, env.Time)
}

// OnPersonErased scrubs the person: memberships and ballot issuance records.
func (a *Application) OnPersonErased(ctx context.Context, ev events.PersonErased, _ events.Envelope) error {
	return a.repo.ErasePerson(ctx, ev.PersonID)
}

// OnSessionHeld opens the session's evaluation for the CoP's members, once.
func (a *Application) OnSessionHeld(ctx context.Context, ev events.SessionHeld, _ events.Envelope) error {
	closes := ev.HeldAt.Add(EvaluationOpenFor)
	if now := a.now(); closes.Before(now) {
		// A session reported late still gets a week of evaluation.
		closes = now.Add(EvaluationOpenFor)
	}
	return a.openForSession(ctx, ev.CoPID, ev.SessionID, domain.PollEvaluation, domain.PurposeEvaluation,
		domain.EvaluationQuestions(), ev.HeldAt, closes)
}

// OnCheckinDue opens a check-in for the CoP's members, once per session it is due at.
func (a *Application) OnCheckinDue(ctx context.Context, ev events.CheckinDue, _ events.Envelope) error {
	now := a.now()
	return a.openForSession(ctx, ev.CoPID, ev.SessionID, domain.PollCheckin, domain.PurposeCheckin,
		domain.CheckinQuestions(), now, now.Add(CheckinOpenFor))
}

func (a *Application) openForSession(ctx context.Context, cop, session, kind, purpose string, qs []domain.Question, opened, closes time.Time) error {
	p := &domain.Poll{
		ID: strings.ToLower(events.NewID()), CoPID: cop, SessionID: session, Kind: kind, Purpose: purpose,
		Audience: domain.AudienceMembers, Questions: qs, MinResponses: domain.DefaultMinResponses,
		OpenedAt: opened, ClosesAt: &closes,
	}
	_, err := a.repo.OpenForSession(ctx, p)
	return err
}
