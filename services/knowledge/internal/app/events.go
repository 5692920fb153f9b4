package app

import (
	"context"
	"fmt"
	"time"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/knowledge/domain"
)

// The events the knowledge service consumes. Each On<Event> runs in the consumer's
// transaction, which ctx carries (bus.On): the repository joins it, so the change, the
// events it causes and the record of the processed event commit together.

// OnCoPApproved records an approved CoP's region: who may act in it, where its
// projects, sessions and demand belong.
func (a *Application) OnCoPApproved(ctx context.Context, ev events.CoPApproved, _ events.Envelope) error {
	return a.repo.AcceptCoP(ctx, ev.CoPID, ev.Region)
}

// OnProjectMapped applies a project_mapped from any node, this one's and those sourced
// from child nodes: it keeps a project from elsewhere in this node's map, then looks for
// its overlaps with every project the node knows. A project no retry can make acceptable
// (dates, places) is permanent: it goes to the dead letters at once.
func (a *Application) OnProjectMapped(ctx context.Context, ev events.ProjectMapped, env events.Envelope) error {
	p, err := mappedProject(ev, env.Source)
	if err != nil {
		return bus.Permanent(err)
	}
	if err := a.canonicalise(ctx, &p.Project); err != nil {
		return err
	}
	if err := a.repo.KeepProject(ctx, p); err != nil {
		return err
	}
	return a.detectOverlaps(ctx, p.ID)
}

// mappedProject reads a project_mapped of origin.
func mappedProject(ev events.ProjectMapped, origin string) (*Project, error) {
	p := &Project{Project: domain.Project{ID: ev.ProjectID, CoPID: ev.CoPID, Region: ev.Region,
		Organisation: ev.Organisation, Topics: ev.Topics}, Title: ev.Title, Methods: []string{}, Origin: origin}
	var err error
	if p.StartsOn, err = time.Parse(time.DateOnly, ev.StartsOn); err != nil {
		return nil, fmt.Errorf("starts_on: %w", err)
	}
	if p.EndsOn, err = time.Parse(time.DateOnly, ev.EndsOn); err != nil {
		return nil, fmt.Errorf("ends_on: %w", err)
	}
	if p.EndsOn.Before(p.StartsOn) {
		return nil, fmt.Errorf("ends_on %s is before starts_on %s", ev.EndsOn, ev.StartsOn)
	}
	for _, c := range ev.Communities {
		if !domain.ValidPlace(c.Place) {
			return nil, fmt.Errorf("place %q is not a place code", c.Place)
		}
		p.Communities = append(p.Communities, domain.Community{Place: c.Place, Group: c.Group})
	}
	return p, nil
}

// detectOverlaps compares project id with its candidates (domain.OverlapRule) and records
// each overlap this node is the one to report (domain.DetectedHere); a pair is reported
// once, however often it is found.
func (a *Application) detectOverlaps(ctx context.Context, id string) error {
	gap := a.rule.GapDays
	if gap <= 0 {
		gap = domain.DefaultGapDays
	}
	mine, candidates, err := a.repo.OverlapCandidates(ctx, id, gap)
	if err != nil {
		return err
	}
	for _, o := range candidates {
		if !domain.DetectedHere(a.node, a.tier, mine.Origin, mine.Region, o.Origin, o.Region) {
			continue // a node below this one sees both and reports it
		}
		verdict, ok := a.rule.Compare(mine.Project, o.Project)
		if !ok {
			continue
		}
		pa, pb := domain.OrderedPair(mine.ID, o.ID)
		if err := a.repo.RecordOverlap(ctx, Overlap{ID: events.NewID(), Kind: string(verdict.Kind), Score: verdict.Score,
			ProjectIDs: []string{pa, pb}, CoPIDs: distinct(mine.CoPID, o.CoPID), Regions: distinct(mine.Region, o.Region)}); err != nil {
			return err
		}
	}
	return nil
}

func distinct(a, b string) []string {
	if a == b {
		return []string{a}
	}
	if b < a {
		a, b = b, a
	}
	return []string{a, b}
}

// OnSessionHeld records a session's topics as supply in its CoP's region, at the session's
// own time, not when it was marked held: a session backfilled today took place when it
// took place (domain.Supplies compares it with demand's).
func (a *Application) OnSessionHeld(ctx context.Context, ev events.SessionHeld, _ events.Envelope) error {
	terms := append([]string{}, ev.Topics...)
	if ev.Topic != "" {
		terms = append(terms, ev.Topic)
	}
	topics, err := a.canonical(ctx, terms)
	if err != nil {
		return err
	}
	at := ev.StartsAt
	if at.IsZero() {
		at = ev.HeldAt
	}
	region, err := a.repo.RecordSessionHeld(ctx, HeldSession{SessionID: ev.SessionID, CoPID: ev.CoPID, Topics: topics,
		HeldAt: ev.HeldAt, TookPlace: at})
	if err != nil || region == "" {
		return err
	}
	return a.repo.RefreshGaps(ctx, region, topics)
}

// OnResultsPublished turns feedback's results into demand: the first options of a
// learning-priorities ranking, or the topics of a session whose confidence came out low.
// Other results say nothing about demand.
func (a *Application) OnResultsPublished(ctx context.Context, ev events.ResultsPublished, _ events.Envelope) error {
	d := Demand{PollID: ev.PollID, CoPID: ev.CoPID, Region: ev.Region}
	switch {
	case ev.Purpose == "learning_priorities" || ev.Kind == "ranking":
		d.Reason, d.Topics = domain.ReasonLearningPriority, domain.LearningPriorities(ev.Results)
	case ev.SessionID != "" && domain.ConfidenceIsLow(ev.Results):
		topics, err := a.repo.SessionTopics(ctx, ev.SessionID)
		if err != nil {
			return err
		}
		d.Reason, d.Topics = domain.ReasonLowConfidence, topics
	}
	if len(d.Topics) == 0 {
		return nil
	}
	topics, err := a.canonical(ctx, d.Topics)
	if err != nil {
		return err
	}
	d.Topics = topics
	region, topics, err := a.repo.RecordDemand(ctx, d)
	if err != nil {
		return err
	}
	return a.repo.RefreshGaps(ctx, region, topics)
}

// OnMemberJoined records a membership: who may act in a CoP and where experts are.
func (a *Application) OnMemberJoined(ctx context.Context, ev events.MemberJoined, env events.Envelope) error {
	return a.applyMembership(ctx, Membership{CoPID: ev.CoPID, PersonID: ev.PersonID, Region: ev.Region, Active: true,
		Version: env.Time, EventID: env.ID})
}

// OnMemberLeft records that a membership ended.
func (a *Application) OnMemberLeft(ctx context.Context, ev events.MemberLeft, env events.Envelope) error {
	return a.applyMembership(ctx, Membership{CoPID: ev.CoPID, PersonID: ev.PersonID, Region: ev.Region, Active: false,
		Version: env.Time, EventID: env.ID})
}

// applyMembership applies a membership change unless a later one of the same membership
// was applied already: member_joined and member_left reach separate durable consumers in
// any order, and redeliveries come late. A person erased is never written again. The
// person's declared expertise moves with their memberships, so the gaps of the CoP's
// region are judged again.
func (a *Application) applyMembership(ctx context.Context, m Membership) error {
	if erased, err := a.repo.IsErased(ctx, m.PersonID); err != nil || erased {
		return err
	}
	applied, err := a.repo.ApplyMembership(ctx, m)
	if err != nil || !applied {
		return err
	}
	topics, err := a.repo.ExpertiseTopics(ctx, m.PersonID, m.CoPID)
	if err != nil {
		return err
	}
	return a.repo.RefreshGaps(ctx, m.Region, topics)
}

// OnPersonErased scrubs a person; the supply their expertise was is judged again, as
// anonymous demand stays.
func (a *Application) OnPersonErased(ctx context.Context, ev events.PersonErased, _ events.Envelope) error {
	lost, regions, err := a.repo.ErasePerson(ctx, ev.PersonID)
	if err != nil {
		return err
	}
	for _, s := range lost {
		// Expertise declared without a CoP was supply wherever the person was a member.
		in := []string{s.Region}
		if s.Region == "" {
			in = regions
		}
		for _, region := range in {
			if err := a.repo.RefreshGaps(ctx, region, s.Topics); err != nil {
				return err
			}
		}
	}
	return nil
}
