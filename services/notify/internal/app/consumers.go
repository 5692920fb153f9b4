package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/services/notify/domain"
	"github.com/copnet/copnet/services/notify/internal/adapters"
)

// Contact is what membership shares of a person on the node-private channel.
type Contact struct {
	PersonID string `json:"person_id"`
	Name     string `json:"name,omitempty"`
	Address  string `json:"address,omitempty"`
	Erased   bool   `json:"erased,omitempty"`
}

// DecodeContact reads a contact message; anything malformed is refused whole.
func DecodeContact(data []byte) (Contact, error) {
	var c Contact
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Contact{}, fmt.Errorf("contact: %w", err)
	}
	if c.PersonID == "" || len(c.PersonID) > 200 || strings.ContainsAny(c.PersonID, "/\x00") {
		return Contact{}, fmt.Errorf("contact: person_id is missing or malformed")
	}
	if !c.Erased {
		a, err := mail.ParseAddress(c.Address)
		if err != nil || strings.ContainsAny(c.Address, "\r\n") {
			return Contact{}, fmt.Errorf("contact: address is not an e-mail address")
		}
		c.Address = a.Address
		if strings.ContainsAny(c.Name, "\r\n\x00") || len(c.Name) > 200 {
			return Contact{}, fmt.Errorf("contact: name is malformed")
		}
	}
	return c, nil
}

// OnContact keeps notify's copy of a person's address current; an erasure deletes it and
// everything notify holds of the person.
func (a *Application) OnContact(ctx context.Context, _ string, data []byte) error {
	c, err := DecodeContact(data)
	if err != nil {
		return nil // malformed: dropped, redelivery could not mend it
	}
	if c.Erased {
		return a.repo.ErasePerson(ctx, c.PersonID)
	}
	return a.repo.PutContact(ctx, c.PersonID, c.Address, c.Name)
}

// OnPersonErased scrubs the person: contact details, preferences, roles, notices, mail.
func (a *Application) OnPersonErased(ctx context.Context, ev events.PersonErased, _ events.Envelope) error {
	return a.repo.ErasePerson(ctx, ev.PersonID)
}

// OnCoPProposed learns a CoP's name and region.
func (a *Application) OnCoPProposed(ctx context.Context, ev events.CoPProposed, _ events.Envelope) error {
	return a.repo.PutCoP(ctx, ev.CoPID, ev.Region, ev.Name)
}

// OnCoPApproved tells the group that applied (registry names its applicant) and the CoP's
// coordinators once appointed.
func (a *Application) OnCoPApproved(ctx context.Context, ev events.CoPApproved, env events.Envelope) error {
	if err := a.repo.PutCoP(ctx, ev.CoPID, ev.Region, ""); err != nil {
		return err
	}
	return a.application(ctx, ev.CoPID, ev.ApplicantID, env.ID, "was approved", ev.Reason)
}

// OnCoPDeclined tells the same people the application was declined, and why.
func (a *Application) OnCoPDeclined(ctx context.Context, ev events.CoPDeclined, env events.Envelope) error {
	if err := a.repo.PutCoP(ctx, ev.CoPID, ev.Region, ""); err != nil {
		return err
	}
	return a.application(ctx, ev.CoPID, ev.ApplicantID, env.ID, "was declined", ev.Reason)
}

// OnCoPChangesRequested tells the applicant what the hub asks them to change, with the
// page where they edit and resubmit.
func (a *Application) OnCoPChangesRequested(ctx context.Context, ev events.CoPChangesRequested, env events.Envelope) error {
	if err := a.repo.PutCoP(ctx, ev.CoPID, ev.Region, ""); err != nil {
		return err
	}
	return a.application(ctx, ev.CoPID, ev.ApplicantID, env.ID, "needs changes before the hub decides", ev.Reason)
}

// OnCoPResubmitted tells the region's hub officers that an application they asked to
// change is back in their queue.
func (a *Application) OnCoPResubmitted(ctx context.Context, ev events.CoPResubmitted, env events.Envelope) error {
	if err := a.repo.PutCoP(ctx, ev.CoPID, ev.Region, ev.Name); err != nil {
		return err
	}
	hub, err := a.repo.HubOfficers(ctx, ev.Region)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("%s was resubmitted with the changes you asked for (round %d). It awaits your decision:\n%s/regions/%s",
		ev.Name, ev.Round, a.s.PublicURL, url.PathEscape(ev.Region))
	return a.tell(ctx, noticesFor(hub, env.ID, domain.KindApplication, ev.Name+" was resubmitted", body)...)
}

// application tells the applicant (when registry names one) and the CoP's coordinators
// what became of the application, why, and where to see it.
func (a *Application) application(ctx context.Context, copID, applicant, key, outcome, reason string) error {
	cop, err := a.repo.CoPOf(ctx, copID)
	if err != nil {
		return err
	}
	people, err := a.repo.Coordinators(ctx, copID)
	if err != nil {
		return err
	}
	if applicant != "" {
		people = append([]string{applicant}, people...)
	}
	body := fmt.Sprintf("The application of %s %s.", copName(cop), outcome)
	if reason != "" {
		body += "\n\nThe hub wrote: " + reason
	}
	body += fmt.Sprintf("\n\nSee it here: %s/applications/%s", a.s.PublicURL, url.PathEscape(copID))
	return a.tell(ctx, noticesFor(people, key, domain.KindApplication, fmt.Sprintf("%s %s", copName(cop), outcome), body)...)
}

// OnCharterPublished asks the members who accepted an older Code of Practice to read the new one.
func (a *Application) OnCharterPublished(ctx context.Context, ev events.CharterPublished, env events.Envelope) error {
	if err := a.repo.SetCharterVersion(ctx, ev.CoPID, ev.Region, ev.Version); err != nil {
		return err
	}
	cop, err := a.repo.CoPOf(ctx, ev.CoPID)
	if err != nil {
		return err
	}
	people, err := a.repo.MembersBehind(ctx, ev.CoPID, ev.Version)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("%s published version %d of its Code of Practice. Please read it and accept it to keep taking part.", copName(cop), ev.Version)
	return a.tell(ctx, noticesFor(people, env.ID, domain.KindCharter, "A new Code of Practice for "+copName(cop), body)...)
}

// OnMemberJoined records the membership.
func (a *Application) OnMemberJoined(ctx context.Context, ev events.MemberJoined, _ events.Envelope) error {
	return a.repo.AddMember(ctx, ev.CoPID, ev.Region, ev.PersonID, ev.CodeOfPracticeVersion)
}

// OnMemberLeft forgets the membership.
func (a *Application) OnMemberLeft(ctx context.Context, ev events.MemberLeft, _ events.Envelope) error {
	return a.repo.RemoveMember(ctx, ev.CoPID, ev.PersonID)
}

// OnGrantGiven records a hub, coordinator or national role.
func (a *Application) OnGrantGiven(ctx context.Context, ev events.GrantGiven, _ events.Envelope) error {
	return a.repo.SetGrant(ctx, ev.PersonID, ev.Role, ev.Region, ev.CoPID, true)
}

// OnGrantWithdrawn forgets the role.
func (a *Application) OnGrantWithdrawn(ctx context.Context, ev events.GrantWithdrawn, _ events.Envelope) error {
	return a.repo.SetGrant(ctx, ev.PersonID, ev.Role, ev.Region, ev.CoPID, false)
}

// OnExpertiseDeclared records who can answer requests on which topics.
func (a *Application) OnExpertiseDeclared(ctx context.Context, ev events.ExpertiseDeclared, _ events.Envelope) error {
	return a.repo.PutExpert(ctx, ev.ExpertiseID, ev.PersonID, ev.Topics)
}

// OnSessionScheduled records the session; its reminder goes at the lead time (SendDue).
func (a *Application) OnSessionScheduled(ctx context.Context, ev events.SessionScheduled, _ events.Envelope) error {
	return a.repo.PutSession(ctx, adapters.Session{ID: ev.SessionID, CoPID: ev.CoPID, Number: ev.Number, StartsAt: ev.StartsAt,
		EndsAt: ev.EndsAt, Timezone: ev.Timezone, Topic: ev.Topic})
}

// OnSessionRescheduled records the new time and tells the members at once.
func (a *Application) OnSessionRescheduled(ctx context.Context, ev events.SessionRescheduled, env events.Envelope) error {
	if err := a.repo.PutSession(ctx, adapters.Session{ID: ev.SessionID, CoPID: ev.CoPID, StartsAt: ev.StartsAt, EndsAt: ev.EndsAt,
		Topic: ev.Topic, Sequence: ev.Sequence}); err != nil {
		return err
	}
	s, _, err := a.repo.SessionOf(ctx, ev.SessionID)
	if err != nil {
		return err
	}
	cop, err := a.repo.CoPOf(ctx, ev.CoPID)
	if err != nil {
		return err
	}
	loc := zone(s.Timezone)
	members, err := a.repo.Members(ctx, ev.CoPID)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("The session of %s moved to %s.", copName(cop), ev.StartsAt.In(loc).Format("Monday 2 January 2006, 15:04 MST"))
	return a.tell(ctx, noticesFor(members, env.ID, domain.KindSessionChange, "Session moved: "+copName(cop), body)...)
}

// OnSessionCancelled tells the members.
func (a *Application) OnSessionCancelled(ctx context.Context, ev events.SessionCancelled, env events.Envelope) error {
	if err := a.repo.CancelSession(ctx, ev.SessionID); err != nil {
		return err
	}
	s, known, err := a.repo.SessionOf(ctx, ev.SessionID)
	if err != nil {
		return err
	}
	cop, err := a.repo.CoPOf(ctx, ev.CoPID)
	if err != nil {
		return err
	}
	members, err := a.repo.Members(ctx, ev.CoPID)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("A session of %s is cancelled.", copName(cop))
	if known {
		body = fmt.Sprintf("The session of %s on %s is cancelled.", copName(cop), s.StartsAt.In(zone(s.Timezone)).Format("Monday 2 January 2006, 15:04 MST"))
	}
	if ev.Reason != "" {
		body += "\n\nReason: " + ev.Reason
	}
	return a.tell(ctx, noticesFor(members, env.ID, domain.KindSessionChange, "Session cancelled: "+copName(cop), body)...)
}

// OnRolesAssigned tells the facilitator and the note taker when their turn is.
func (a *Application) OnRolesAssigned(ctx context.Context, ev events.RolesAssigned, env events.Envelope) error {
	s, known, err := a.repo.SessionOf(ctx, ev.SessionID)
	if err != nil {
		return err
	}
	cop, err := a.repo.CoPOf(ctx, ev.CoPID)
	if err != nil {
		return err
	}
	when := "at its next session"
	if known {
		when = "on " + s.StartsAt.In(zone(s.Timezone)).Format("Monday 2 January")
	}
	var ns []domain.Notice
	for role, person := range map[string]string{"facilitate": ev.Facilitator, "take notes": ev.NoteTaker} {
		if person == "" {
			continue
		}
		subject := fmt.Sprintf("You %s %s %s", role, copName(cop), when)
		ns = append(ns, domain.Notice{Key: env.ID + "/" + role, PersonID: person, Kind: domain.KindRotation, Subject: subject,
			Body: subject + "."})
	}
	return a.tell(ctx, ns...)
}

// OnParticipationDeclining tells the CoP's coordinators and its hub officers, nobody else.
func (a *Application) OnParticipationDeclining(ctx context.Context, ev events.ParticipationDeclining, env events.Envelope) error {
	cop, err := a.repo.CoPOf(ctx, ev.CoPID)
	if err != nil {
		return err
	}
	coords, err := a.repo.Coordinators(ctx, ev.CoPID)
	if err != nil {
		return err
	}
	hubs, err := a.repo.HubOfficers(ctx, cop.Region)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("Attendance at %s fell from %.0f%% to %.0f%% of members. A check-in with the members may show why.",
		copName(cop), ev.EarlyRate*100, ev.RecentRate*100)
	if err := a.repo.AddNews(ctx, env.ID, cop.Region, domain.KindParticipation, "Participation is declining in "+copName(cop), a.s.Now()); err != nil {
		return err
	}
	return a.tell(ctx, noticesFor(append(coords, hubs...), env.ID, domain.KindParticipation, "Participation is declining in "+copName(cop), body)...)
}

// OnOverlapDetected tells the coordinators of every CoP the overlap names.
func (a *Application) OnOverlapDetected(ctx context.Context, ev events.OverlapDetected, env events.Envelope) error {
	var people, names []string
	for _, id := range ev.CoPIDs {
		cop, err := a.repo.CoPOf(ctx, id)
		if err != nil {
			return err
		}
		names = append(names, copName(cop))
		c, err := a.repo.Coordinators(ctx, id)
		if err != nil {
			return err
		}
		people = append(people, c...)
	}
	text := "Overlap between " + strings.Join(names, " and ")
	for _, r := range ev.Regions {
		if err := a.repo.AddNews(ctx, env.ID+"/"+r, r, domain.KindOverlap, text, a.s.Now()); err != nil {
			return err
		}
	}
	body := text + ": their projects work on the same thing. Talking to each other may save both effort."
	return a.tell(ctx, noticesFor(people, env.ID, domain.KindOverlap, text, body)...)
}

// OnRequestRaised tells the experts knowledge routed the request to (events before it
// named them: the experts declared on its topics), never the asker themself.
func (a *Application) OnRequestRaised(ctx context.Context, ev events.RequestRaised, env events.Envelope) error {
	people := ev.RoutedTo
	if people == nil {
		var err error
		if people, err = a.repo.Experts(ctx, ev.Topics); err != nil {
			return err
		}
	}
	people = slices.DeleteFunc(slices.Clone(people), func(p string) bool { return p == ev.AskerID })
	body := "A CoP asks for help on " + strings.Join(ev.Topics, ", ") + ". Your declared expertise matches. Read the question and answer it: " +
		a.s.PublicURL + "/requests/" + url.PathEscape(ev.RequestID)
	return a.tell(ctx, noticesFor(people, env.ID, domain.KindRequest, "A knowledge request on "+strings.Join(ev.Topics, ", "), body)...)
}

// OnRequestAnswered tells the person who asked that an expert answered.
func (a *Application) OnRequestAnswered(ctx context.Context, ev events.RequestAnswered, env events.Envelope) error {
	if ev.AskerID == "" {
		return nil // asked before knowledge named askers, or the asker was erased
	}
	body := "An expert answered your request. Read the answer: " + a.s.PublicURL + "/requests/" + url.PathEscape(ev.RequestID)
	return a.tell(ctx, noticesFor([]string{ev.AskerID}, env.ID, domain.KindRequest, "Your request was answered", body)...)
}

// OnCheckinDue tells the CoP's members a check-in is open.
func (a *Application) OnCheckinDue(ctx context.Context, ev events.CheckinDue, env events.Envelope) error {
	return a.members(ctx, ev.CoPID, env.ID, domain.KindFeedback, "A check-in for %s is open", "%s asks its members how it is going: the check-in takes two minutes and is anonymous.")
}

// OnPollOpened tells the CoP's members an evaluation is open.
func (a *Application) OnPollOpened(ctx context.Context, ev events.PollOpened, env events.Envelope) error {
	if ev.Purpose != "evaluation" {
		return nil // check-ins are told on checkin_due; other polls are run in the room
	}
	return a.members(ctx, ev.CoPID, env.ID, domain.KindFeedback, "Evaluate the last session of %s", "How was the last session of %s? The evaluation is anonymous.")
}

func (a *Application) members(ctx context.Context, copID, key string, kind domain.Kind, subject, body string) error {
	cop, err := a.repo.CoPOf(ctx, copID)
	if err != nil {
		return err
	}
	people, err := a.repo.Members(ctx, copID)
	if err != nil {
		return err
	}
	return a.tell(ctx, noticesFor(people, key, kind, fmt.Sprintf(subject, copName(cop)), fmt.Sprintf(body, copName(cop)))...)
}

// OnGapIdentified tells the region's hub officers.
func (a *Application) OnGapIdentified(ctx context.Context, ev events.GapIdentified, env events.Envelope) error {
	hubs, err := a.repo.HubOfficers(ctx, ev.Region)
	if err != nil {
		return err
	}
	text := "Nobody in region " + ev.Region + " covers " + ev.Topic
	if err := a.repo.AddNews(ctx, env.ID, ev.Region, domain.KindGap, text, a.s.Now()); err != nil {
		return err
	}
	body := text + "."
	if len(ev.SupplyingRegions) > 0 {
		body += " Regions that do: " + strings.Join(ev.SupplyingRegions, ", ") + "."
	}
	return a.tell(ctx, noticesFor(hubs, env.ID, domain.KindGap, "A knowledge gap in region "+ev.Region, body)...)
}

func zone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil && name != "" {
		return loc
	}
	return time.UTC
}
