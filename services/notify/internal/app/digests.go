package app

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/copnet/copnet/services/notify/domain"
)

func parseAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// periodStart is the start of the period of cadence that t falls in: the day, or the week
// from Monday, in UTC.
func periodStart(c domain.Cadence, t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if c == domain.Weekly {
		d = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	}
	return d
}

// SendDue queues the reminders and digests that are due.
func (a *Application) SendDue(ctx context.Context) error {
	if err := a.remind(ctx); err != nil {
		return fmt.Errorf("reminders: %w", err)
	}
	for _, c := range []domain.Cadence{domain.Daily, domain.Weekly} {
		if err := a.personalDigests(ctx, c); err != nil {
			return fmt.Errorf("%s digests: %w", c, err)
		}
	}
	if err := a.officerDigests(ctx); err != nil {
		return fmt.Errorf("hub digests: %w", err)
	}
	return nil
}

// personalDigests sends each person who chose cadence one mail with the notices held for
// it from before the current period began. Its key names the period, so it goes once.
func (a *Application) personalDigests(ctx context.Context, c domain.Cadence) error {
	now := a.s.Now()
	cut := periodStart(c, now)
	held, err := a.repo.HeldBefore(ctx, c, cut)
	if err != nil {
		return err
	}
	for person, ns := range held {
		ct, err := a.repo.ContactOf(ctx, person)
		if err != nil {
			return err
		}
		if ct == nil {
			continue // no address yet: kept for the next digest
		}
		var b strings.Builder
		ids := make([]int64, 0, len(ns))
		fmt.Fprintf(&b, "Here is what happened in copnet that concerns you (%d notices).\n", len(ns))
		for _, n := range ns {
			ids = append(ids, n.ID)
			fmt.Fprintf(&b, "\n%s — %s\n%s\n", n.At.UTC().Format("Mon 2 Jan"), n.Subject, n.Body)
		}
		label := map[domain.Cadence]string{domain.Daily: "Your daily copnet digest", domain.Weekly: "Your weekly copnet digest"}[c]
		m := a.compose(ct, person, ns[0].Kind, fmt.Sprintf("%s: %d notices", label, len(ns)), b.String())
		m.Key = fmt.Sprintf("d/%s/%s/%s", person, c, cut.Format("2006-01-02"))
		// One link per mail: it stops the first notice's kind; the preferences page has the rest.
		if err := a.repo.Mail(ctx, m, ids, now); err != nil {
			return err
		}
		a.s.MailQueued()
	}
	return nil
}

// officerDigests sends each hub officer a weekly digest of their region (its CoPs and their
// members, the week's declining participation, overlaps and gaps) and each national officer
// one of every region, when the week just ended had news.
func (a *Application) officerDigests(ctx context.Context) error {
	now := a.s.Now()
	cut := periodStart(domain.Weekly, now)
	from := cut.AddDate(0, 0, -7)
	officers, err := a.repo.Officers(ctx)
	if err != nil {
		return err
	}
	for _, o := range officers {
		cadence, err := a.repo.Cadence(ctx, o.PersonID, domain.KindDigest)
		if err != nil {
			return err
		}
		if cadence == domain.Off {
			continue
		}
		news, err := a.repo.News(ctx, o.Region, from, cut)
		if err != nil || len(news) == 0 {
			if err != nil {
				return err
			}
			continue
		}
		ct, err := a.repo.ContactOf(ctx, o.PersonID)
		if err != nil || ct == nil {
			if err != nil {
				return err
			}
			continue
		}
		cops, err := a.repo.RegionCoPs(ctx, o.Region)
		if err != nil {
			return err
		}
		scope := "region " + o.Region
		if o.Region == "" {
			scope = "the national network"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "The week of %s in %s.\n\nWhat happened:\n", from.Format("2 January 2006"), scope)
		for _, n := range news {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		fmt.Fprintf(&b, "\nCoPs and their members:\n")
		for _, c := range cops {
			name := c.Name
			if name == "" {
				name = c.ID
			}
			fmt.Fprintf(&b, "- %s: %d members\n", name, c.Members)
		}
		m := a.compose(ct, o.PersonID, domain.KindDigest, "Weekly digest for "+scope, b.String())
		m.Key = fmt.Sprintf("h/%s/%s/%s", o.PersonID, o.Region, cut.Format("2006-01-02"))
		if err := a.repo.Mail(ctx, m, nil, now); err != nil {
			return err
		}
		a.s.MailQueued()
	}
	return nil
}
