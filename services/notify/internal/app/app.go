// Package app is everything the notify service's ports may ask of it: people's
// preferences, unsubscribing, the dead letters, and the reactions to other services'
// events that decide who is told what.
package app

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/ical"
	"github.com/copnet/copnet/pkg/mail"
	"github.com/copnet/copnet/services/notify/domain"
	"github.com/copnet/copnet/services/notify/internal/adapters"
)

// Repository is the storage the application uses (adapters.Repository). A change made while
// ctx carries a transaction (a consumed event's) joins it, so a decision and its mail
// commit together or not at all.
type Repository = *adapters.Repository

// Settings are the application's knobs.
type Settings struct {
	Now func() time.Time
	// ReminderLead is how long before a session its members are reminded.
	ReminderLead time.Duration
	// PublicURL is the node's base URL, for the links in mail.
	PublicURL string
	// From is the mail sender, the ORGANIZER of invitations.
	From string
	// MailQueued wakes the mail worker after a commit that queued mail.
	MailQueued func()
}

// Application is the notify service's use cases.
type Application struct {
	repo  Repository
	s     Settings
	unsub *domain.Unsubscriber
}

// New returns the application over repo, signing unsubscribe links with unsub.
func New(repo Repository, unsub *domain.Unsubscriber, s Settings) *Application {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.MailQueued == nil {
		s.MailQueued = func() {}
	}
	return &Application{repo: repo, s: s, unsub: unsub}
}

// UnsubscribePath is where unsubscribe links point (a page, and a one-click POST).
const UnsubscribePath = "/unsubscribe"

// PreferencesPath is the console page where people choose their cadences.
const PreferencesPath = "/notifications"

// UnsubscribeURL is the link that turns kind off for person.
func (a *Application) UnsubscribeURL(person string, kind domain.Kind) string {
	return a.s.PublicURL + UnsubscribePath + "?token=" + url.QueryEscape(a.unsub.Token(person, kind))
}

// tell records each notice and, for people who want it at once and whose address notify
// knows, queues its mail, keyed by the notice so it goes once. Notices for people who
// chose a digest wait for it; "off" records the decision and sends nothing.
func (a *Application) tell(ctx context.Context, notices ...domain.Notice) error {
	now := a.s.Now()
	queued := false
	for _, n := range notices {
		d, ok, err := a.repo.Record(ctx, n, now)
		if err != nil || !ok || d.Contact == nil {
			if err != nil {
				return err
			}
			continue
		}
		if d.Cadence != domain.Immediately {
			continue
		}
		m := a.compose(d.Contact, n.PersonID, n.Kind, n.Subject, n.Body)
		m.Key = fmt.Sprintf("n/%s/%d", n.PersonID, d.ID)
		if n.ICS != nil {
			m.Attachments = []mail.Attachment{{Name: "session.ics", ContentType: "text/calendar; charset=utf-8; method=PUBLISH", Data: n.ICS}}
		}
		if err := a.repo.Mail(ctx, m, []int64{d.ID}, now); err != nil {
			return err
		}
		queued = true
	}
	if queued {
		a.s.MailQueued() // early when ctx's transaction has not committed: the next poll sends it
	}
	return nil
}

// compose renders a mail to c: the body, then a footer with the links to stop this kind
// and to choose cadences.
func (a *Application) compose(c *adapters.Contact, person string, kind domain.Kind, subject, body string) mail.Mail {
	to := c.Address
	if c.Name != "" {
		to = fmt.Sprintf("%q <%s>", c.Name, c.Address)
	}
	unsub := a.UnsubscribeURL(person, kind)
	prefs := a.s.PublicURL + PreferencesPath
	text := body + "\n\n--\nYou get this because of your part in copnet (" + domain.Titles[kind] + ").\n" +
		"Stop these mails: " + unsub + "\nChoose how often you hear from copnet: " + prefs + "\n"
	var h strings.Builder
	h.WriteString(`<!doctype html><html lang="en"><body style="font-family:sans-serif;max-width:40em">`)
	for _, p := range strings.Split(strings.TrimSpace(body), "\n\n") {
		h.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(p), "\n", "<br>") + "</p>")
	}
	h.WriteString(`<hr><p style="font-size:small">You get this because of your part in copnet (` + html.EscapeString(domain.Titles[kind]) + `). ` +
		`<a href="` + html.EscapeString(unsub) + `">Stop these mails</a> · <a href="` + html.EscapeString(prefs) + `">Choose how often you hear from copnet</a></p></body></html>`)
	return mail.Mail{To: to, Subject: subject, Text: text, HTML: h.String(), ListUnsubscribe: unsub}
}

// copName is a CoP's name for people, or its id when notify has not learnt the name.
func copName(c adapters.CoP) string {
	if c.Name != "" {
		return c.Name
	}
	return "CoP " + c.ID
}

func noticesFor(people []string, key string, kind domain.Kind, subject, body string) []domain.Notice {
	out := make([]domain.Notice, 0, len(people))
	seen := map[string]bool{}
	for _, p := range people {
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, domain.Notice{Key: key, PersonID: p, Kind: kind, Subject: subject, Body: body})
	}
	return out
}

// remind queues the reminders of every session due within the lead time: one per member
// with an iCalendar invitation, keyed by the session and its sequence, so a moved session
// is reminded again and an unmoved one never twice.
func (a *Application) remind(ctx context.Context) error {
	now := a.s.Now()
	due, err := a.repo.DueReminders(ctx, now, now.Add(a.s.ReminderLead))
	if err != nil {
		return err
	}
	for _, s := range due {
		cop, err := a.repo.CoPOf(ctx, s.CoPID)
		if err != nil {
			return err
		}
		members, err := a.repo.Members(ctx, s.CoPID)
		if err != nil {
			return err
		}
		loc, err := time.LoadLocation(s.Timezone)
		if err != nil {
			loc = time.UTC
		}
		invite, err := a.invitation(s, cop, loc, now)
		if err != nil {
			return err
		}
		when := s.StartsAt.In(loc).Format("Monday 2 January 2006, 15:04 MST")
		subject := fmt.Sprintf("Reminder: %s meets %s", copName(cop), s.StartsAt.In(loc).Format("Mon 2 Jan 15:04 MST"))
		body := fmt.Sprintf("%s meets on %s until %s.", copName(cop), when, s.EndsAt.In(loc).Format("15:04 MST"))
		if s.Topic != "" {
			body += "\n\nTopic: " + s.Topic
		}
		body += "\n\nThe invitation is attached: open it to put the session in your calendar."
		notices := noticesFor(members, fmt.Sprintf("reminder/%s/%d", s.ID, s.Sequence), domain.KindReminder, subject, body)
		for i := range notices {
			notices[i].ICS = invite
		}
		if err := a.tell(ctx, notices...); err != nil {
			return err
		}
		if err := a.repo.MarkReminded(ctx, s.ID, s.Sequence); err != nil {
			return err
		}
	}
	return nil
}

// invitation renders the session as an iCalendar REQUEST (pkg/ical, as scheduling's feed).
func (a *Application) invitation(s adapters.Session, cop adapters.CoP, loc *time.Location, now time.Time) ([]byte, error) {
	summary := copName(cop)
	if s.Topic != "" {
		summary += ": " + s.Topic
	}
	organizer := a.s.From
	if addr, err := parseAddress(organizer); err == nil {
		organizer = addr
	}
	var b bytes.Buffer
	err := ical.Write(&b, ical.Calendar{ProdID: "-//copnet//notify//EN", Method: "PUBLISH", Organizer: organizer,
		Events: []ical.Event{{UID: s.ID + "@copnet", Sequence: s.Sequence, Start: s.StartsAt, End: s.EndsAt, Zone: loc,
			Summary: summary, OrganizerName: copName(cop)}}}, now)
	return b.Bytes(), err
}
