package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
)

// cmdSeed creates the demo network through the public API only, as national. Everything it
// creates is found again by its natural key (region id, CoP name, roster e-mails, program
// existence, project title), so running it again reports "exists" and changes nothing.
func cmdSeed(ctx context.Context, c *Client, args []string, out io.Writer) error {
	fs := flags("seed")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for an approval to reach the other services")
	secretFile := fs.String("auth-secret-file", "", "the node's signing secret, to answer evaluations and declare expertise as demo members (default $COPNET_AUTH_SECRET, else $COPNET_DATA_DIR/auth-secret, else ./var/auth-secret)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "demo" {
		return usagef("the only seed is \"demo\"")
	}
	s := &seeder{c: c, out: out, wait: *wait, now: time.Now()}
	s.sign, s.signWhy = loadMemberSigner(*secretFile)
	return s.demo(ctx)
}

type seeder struct {
	c    *Client
	out  io.Writer
	wait time.Duration
	now  time.Time
	// sign mints member tokens for the demo's people (nil without the node's secret;
	// signWhy says where it came from or why there is none).
	sign    memberSigner
	signWhy string
}

func (s *seeder) say(format string, args ...any) { fmt.Fprintf(s.out, format+"\n", args...) }

func (s *seeder) demo(ctx context.Context) error {
	for _, r := range demoRegions {
		err := s.c.JSON(ctx, "POST", "/v1/regions", map[string]string{"id": r.ID, "name": r.Name}, nil)
		switch {
		case err == nil:
			s.say("region %s (%s): created", r.ID, r.Name)
		case StatusOf(err) == 409:
			s.say("region %s (%s): exists", r.ID, r.Name)
		default:
			return fmt.Errorf("region %s: %w", r.ID, err)
		}
	}
	cops := make([]CoP, len(demoCoPs))
	for i, d := range demoCoPs {
		cop, err := s.cop(ctx, d)
		if err != nil {
			return fmt.Errorf("CoP %q: %w", d.Name, err)
		}
		cops[i] = cop
	}
	// Approval reaches membership, scheduling and knowledge as events; each step below waits
	// for its service to have heard of the CoP.
	for i, d := range demoCoPs {
		if err := s.roster(ctx, cops[i], d); err != nil {
			return fmt.Errorf("CoP %q roster: %w", d.Name, err)
		}
		if err := s.program(ctx, cops[i], d); err != nil {
			return fmt.Errorf("CoP %q program: %w", d.Name, err)
		}
		if err := s.history(ctx, cops[i], d); err != nil {
			return fmt.Errorf("CoP %q history: %w", d.Name, err)
		}
		if err := s.projects(ctx, cops[i], d); err != nil {
			return fmt.Errorf("CoP %q projects: %w", d.Name, err)
		}
	}
	if err := s.gapFilledElsewhere(ctx, cops); err != nil {
		return fmt.Errorf("learning priorities and expertise: %w", err)
	}
	s.overlaps(ctx)
	s.say("demo network ready: %d regions, %d CoPs", len(demoRegions), len(demoCoPs))
	return nil
}

// overlaps reports the overlaps the knowledge service found between the demo's projects.
// Detection runs on project_mapped events, so it waits a little for the expected ones.
func (s *seeder) overlaps(ctx context.Context) {
	var ov struct {
		Overlaps []struct {
			Kind    string   `json:"kind"`
			Regions []string `json:"regions"`
		} `json:"overlaps"`
	}
	short := *s
	short.wait = min(s.wait, 15*time.Second)
	err := short.eventually(ctx, func(err error) bool { return errors.Is(err, errTooFew) }, func() error {
		if err := s.c.JSON(ctx, "GET", "/v1/overlaps", nil, &ov); err != nil {
			return err
		}
		if len(ov.Overlaps) < demoOverlaps {
			return errTooFew
		}
		return nil
	})
	if err != nil && !errors.Is(err, errTooFew) {
		s.say("overlaps: cannot list them: %v", err)
		return
	}
	for _, o := range ov.Overlaps {
		s.say("overlap: %s in %s", o.Kind, strings.Join(o.Regions, ", "))
	}
	if len(ov.Overlaps) < demoOverlaps {
		s.say("overlaps: %d found so far, %d expected (detection runs on events; see GET /v1/overlaps)", len(ov.Overlaps), demoOverlaps)
	}
}

var errTooFew = errors.New("fewer overlaps than expected")

// object is a JSON object copctl only counts.
type object = map[string]any

// cop finds the CoP by region and name or proposes it, then approves it and publishes its
// first charter when that has not happened yet.
func (s *seeder) cop(ctx context.Context, d demoCoP) (CoP, error) {
	existing, err := listCoPs(ctx, s.c, url.Values{"region": {d.Region}})
	if err != nil {
		return CoP{}, err
	}
	i := slices.IndexFunc(existing, func(c CoP) bool { return c.Name == d.Name })
	var cop CoP
	if i >= 0 {
		cop = existing[i]
		s.say("CoP %q (%s): exists as %s", d.Name, d.Region, cop.ID)
	} else {
		err := s.c.JSON(ctx, "POST", "/v1/cops", map[string]any{
			"name": d.Name, "region": d.Region, "scope": d.Scope, "purpose": d.Purpose,
			"topics": d.Topics, "host_organisations": d.Hosts,
			"meeting": map[string]any{"frequency": d.Frequency, "duration_minutes": d.Duration, "format": d.Format},
		}, &cop)
		if err != nil {
			return CoP{}, err
		}
		s.say("CoP %q (%s): proposed as %s", d.Name, d.Region, cop.ID)
	}
	switch cop.Status {
	case "proposed":
		if err := s.c.JSON(ctx, "POST", "/v1/cops/"+cop.ID+"/decision", map[string]string{"decision": "approve", "reason": "demo network"}, &cop); err != nil {
			return CoP{}, err
		}
		s.say("  approved")
	case "approved", "active", "dormant":
		s.say("  approval: exists (%s)", cop.Status)
	default:
		return CoP{}, fmt.Errorf("is %s; retire or rename it to seed the demo again", cop.Status)
	}
	if cop.CharterVersion > 0 {
		s.say("  charter: exists (v%d)", cop.CharterVersion)
		return cop, nil
	}
	var ch struct {
		Version int `json:"version"`
	}
	err = s.c.JSON(ctx, "PUT", "/v1/cops/"+cop.ID+"/charter", map[string]string{
		"aims":               d.Purpose,
		"terms_of_reference": "We meet " + d.Frequency + " for " + fmt.Sprint(d.Duration) + " minutes. Members are individuals; the coordinator is appointed each year by consent.",
		"code_of_practice":   "We share generously, respect confidentiality, credit each other's work and speak for ourselves, not our organisations.",
	}, &ch)
	if err != nil {
		return CoP{}, err
	}
	cop.CharterVersion = ch.Version
	s.say("  charter: v%d published", ch.Version)
	return cop, nil
}

// rosterMember is a member as the roster lists them.
type rosterMember struct {
	PersonID string   `json:"person_id"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
}

// roster puts the CoP's people on its roster. Imports invite people rather than join them
// (nobody is joined without consent), so the seed registers each demo person and, with the
// node's secret, has them join the CoP themselves (opening its online registration),
// accepting its Code of Practice; without
// it, national adds the demo's fictional people, as the API lets national do. People found
// on the roster by name are left alone, so a second run changes nothing.
func (s *seeder) roster(ctx context.Context, cop CoP, d demoCoP) error {
	var ms struct {
		Members []rosterMember `json:"members"`
	}
	// Approval and the charter reach membership as events.
	err := s.eventually(ctx, notYetKnown, func() error {
		return s.c.JSON(ctx, "GET", "/v1/cops/"+cop.ID+"/members", nil, &ms)
	})
	if err != nil {
		return err
	}
	if s.sign != nil {
		// A person joins a CoP by themselves only where it takes online registrations:
		// the demo's CoPs do, so that its people join as people do.
		if err := s.c.JSON(ctx, "PUT", "/v1/cops/"+cop.ID+"/registration", map[string]bool{"open": true}, nil); err != nil {
			return fmt.Errorf("open registration of %q: %w", d.Name, err)
		}
	}
	joined, existing := 0, 0
	for _, p := range d.Roster {
		if slices.ContainsFunc(ms.Members, func(m rosterMember) bool { return m.Name == p.Name }) {
			existing++
			continue
		}
		var person struct {
			ID string `json:"id"`
		}
		err := s.c.JSON(ctx, "POST", "/v1/people", map[string]string{"name": p.Name, "email": p.Email, "organisation": p.Organisation}, &person)
		if StatusOf(err) == 409 {
			return fmt.Errorf("%s is registered but not a member: invite them (copctl import members) or have them join", p.Email)
		}
		if err != nil {
			return err
		}
		joiner := s.c
		if s.sign != nil {
			tok, err := s.sign(person.ID)
			if err != nil {
				return err
			}
			joiner = NewClient(s.c.BaseURL, tok)
			joiner.HTTP = s.c.HTTP
		}
		err = s.eventually(ctx, notYetKnown, func() error {
			return joiner.JSON(ctx, "POST", "/v1/cops/"+cop.ID+"/members",
				map[string]any{"person_id": person.ID, "code_of_practice_version": cop.CharterVersion}, nil)
		})
		if err != nil {
			return fmt.Errorf("%s joining: %w", p.Name, err)
		}
		joined++
	}
	if joined == 0 {
		s.say("CoP %q: roster exists (%d members)", d.Name, existing)
	} else {
		s.say("CoP %q: %d people registered and joined, accepting the Code of Practice; %d already members", d.Name, joined, existing)
	}
	if len(d.WorkingGroup) == 0 {
		return nil
	}
	if err := s.c.JSON(ctx, "GET", "/v1/cops/"+cop.ID+"/members", nil, &ms); err != nil {
		return err
	}
	for _, m := range ms.Members {
		if !slices.Contains(d.WorkingGroup, m.Name) {
			continue
		}
		if slices.Contains(m.Roles, "working_group") {
			s.say("  working group: %s exists", m.Name)
			continue
		}
		roles := append(slices.Clone(m.Roles), "working_group")
		if err := s.c.JSON(ctx, "PUT", "/v1/cops/"+cop.ID+"/members/"+m.PersonID+"/roles", map[string]any{"roles": roles}, nil); err != nil {
			return err
		}
		s.say("  working group: %s added", m.Name)
	}
	return nil
}

// program plans the CoP's program unless it already has sessions.
func (s *seeder) program(ctx context.Context, cop CoP, d demoCoP) error {
	if d.Program == nil {
		return nil
	}
	p := d.Program
	var ss struct {
		Sessions []object `json:"sessions"`
	}
	err := s.eventually(ctx, notYetKnown, func() error {
		return s.c.JSON(ctx, "GET", "/v1/cops/"+cop.ID+"/sessions", nil, &ss)
	})
	if err != nil {
		return err
	}
	if len(ss.Sessions) > 0 {
		s.say("CoP %q: program exists (%d sessions)", d.Name, len(ss.Sessions))
		return nil
	}
	var planned struct {
		Sessions []object `json:"sessions"`
	}
	err = s.c.JSON(ctx, "POST", "/v1/cops/"+cop.ID+"/programs", map[string]any{
		"title": p.Title, "sessions": p.Sessions, "first_session_at": p.First(s.now), "timezone": p.Timezone,
		"cadence": p.Cadence, "duration_minutes": p.Duration, "format": p.Format, "checkins": p.Checkins,
	}, &planned)
	if err != nil {
		return err
	}
	s.say("CoP %q: program %q planned (%d sessions from %s %s)", d.Name, p.Title, len(planned.Sessions), p.First(s.now), p.Timezone)
	return nil
}

// projects maps the CoP's projects that are not on the map yet (matched by title).
func (s *seeder) projects(ctx context.Context, cop CoP, d demoCoP) error {
	if len(d.Projects) == 0 {
		return nil
	}
	var have struct {
		Projects []projectTitle `json:"projects"`
	}
	if err := s.c.JSON(ctx, "GET", "/v1/projects?cop="+url.QueryEscape(cop.ID), nil, &have); err != nil {
		return err
	}
	for _, p := range d.Projects {
		if slices.ContainsFunc(have.Projects, func(h projectTitle) bool { return h.Title == p.Title }) {
			s.say("CoP %q: project %q exists", d.Name, p.Title)
			continue
		}
		start := monthStart(s.now, p.StartMonths)
		end := monthStart(s.now, p.StartMonths+p.Months).AddDate(0, 0, -1)
		err := s.eventually(ctx, notYetKnown, func() error {
			return s.c.JSON(ctx, "POST", "/v1/projects", map[string]any{
				"cop_id": cop.ID, "title": p.Title, "organisation": p.Organisation, "topics": p.Topics,
				"communities": []map[string]string{{"place": p.Place, "group": p.Group}},
				"starts_on":   start.Format(time.DateOnly), "ends_on": end.Format(time.DateOnly), "methods": p.Methods,
			}, nil)
		})
		if err != nil {
			return err
		}
		s.say("CoP %q: project %q mapped (%s, %s, %s to %s)", d.Name, p.Title, p.Place, p.Group, start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	return nil
}

type projectTitle struct {
	Title string `json:"title"`
}

// notYetKnown reports the answers a service gives about a CoP whose approval (or charter)
// has not reached it yet: 404 unknown, 409 not approved for members, 422 not an approved
// CoP or no Code of Practice yet. A roster's own bad rows (fields "line N: ...") are final.
func notYetKnown(err error) bool {
	var p *Problem
	if !errors.As(err, &p) {
		return false
	}
	switch p.Status {
	case 404, 409:
		return true
	case 422:
		for _, f := range p.Errors {
			if strings.HasPrefix(f.Field, "line ") {
				return false
			}
		}
		return strings.Contains(p.Detail, "approved") || strings.Contains(p.Detail, "Code of Practice")
	}
	return false
}

// eventually retries fn while it fails with a retryable error, up to the seeder's wait.
func (s *seeder) eventually(ctx context.Context, retryable func(error) bool, fn func() error) error {
	return retry(ctx, s.wait, retryable, fn)
}

// retry retries fn while it fails with a retryable error, for up to wait.
func retry(ctx context.Context, wait time.Duration, retryable func(error) bool, fn func() error) error {
	deadline := time.Now().Add(wait)
	delay := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || !retryable(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
	}
}

const seedHelp = `seed demo creates, through the API and with a national token, a demo network modelled on
the seeds, in two regions:
  vic  a state health promotion CoP of six local public health units with a seven-session
       Share / Discuss / Apply program; a council's internal community engagement CoP
  wa   a regional network of 24 community organisations with its own program; a health
       consumer-engagement CoP with a working group
with rosters, charters and mapped projects (overlapping in each region and across them), and a
history: a past half-year program per CoP with a program (attendance falling in vic, rising
with confidence in wa), evaluations answered and closed, a learning-priorities ranking in wa
and a vic expert who can fill the gap it opens. Every step finds what already exists by its
natural key, so running it again changes nothing.

Joining a CoP, answering evaluations and declaring expertise are things members do
themselves: the seed signs short-lived member tokens for the demo's people with the node's
secret (as copnet token does); without it national adds the demo people to their CoPs, and
the member-only steps are skipped and said so.

flags:
  --wait 60s                how long to wait for an approval to reach the other services
  --auth-secret-file PATH   the node's signing secret (default $COPNET_AUTH_SECRET, else
                            $COPNET_DATA_DIR/auth-secret, else ./var/auth-secret)`
