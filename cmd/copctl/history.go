package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/httpx"
)

// The demo's history, so that a first look at the console has something to show: each CoP
// with a program also ran one last half-year. In Victoria attendance falls off (six, six,
// five, four, three, two of six members), so its later evaluations are withheld below the
// minimum of five answers; in Western Australia attendance and confidence rise. The
// Western Australian consumer-engagement CoP ranks what it wants to learn next, and a
// Victorian member who is an expert in co-design declares it: a gap in one region that
// another region's expert can fill.

// demoHistory is a past program of a demo CoP: per session, who attended (the first n of
// the roster) and the confidence each attendee who answers the evaluation gives.
type demoHistory struct {
	Title    string
	Attended []int
	// Confidence lists the answers per session; fewer than five answers are withheld.
	Confidence [][]int
}

var demoHistories = map[string]demoHistory{
	"Health promotion in local public health units": {
		Title:    "Share, discuss, apply: the first half-year",
		Attended: []int{6, 6, 5, 4, 3, 2},
		Confidence: [][]int{
			{4, 3, 4, 3, 4, 4}, {3, 4, 4, 3, 4, 3}, {4, 3, 3, 4, 3}, {3, 3, 4, 3}, {3, 4, 3}, {3, 3},
		},
	},
	"Community organisations network": {
		Title:    "Volunteering practice exchange: the first half-year",
		Attended: []int{11, 12, 14, 15, 17, 19},
		Confidence: [][]int{
			{2, 3, 3, 3, 2, 3}, {3, 3, 3, 4, 3, 2}, {3, 4, 3, 4, 3, 4}, {4, 4, 3, 4, 4, 4}, {4, 5, 4, 4, 4, 5}, {5, 4, 5, 5, 4, 5},
		},
	},
}

// demoPriorities is the learning-priorities ranking the Western Australian
// consumer-engagement CoP runs in the room; co-design comes first in every answer.
var demoPriorities = struct {
	CoP, Question string
	Answers       [][]string
}{
	CoP:      "Health consumer engagement",
	Question: "What should we learn about next? Rank these, most wanted first.",
	Answers: [][]string{
		{"co-design", "health literacy", "consumer engagement"},
		{"co-design", "consumer engagement", "health literacy"},
		{"co-design", "health literacy", "consumer engagement"},
		{"co-design", "consumer engagement", "health literacy"},
		{"co-design", "health literacy", "consumer engagement"},
	},
}

// demoExpert is the Victorian member who knows co-design, declared with national
// visibility from their CoP.
var demoExpert = struct{ CoP, Name, Topic string }{"Health promotion in local public health units", "Aroha Smith", "co-design"}

// memberSigner signs short-lived member tokens for roster people, so that the seed can do
// what only members may: take a ballot and answer an evaluation, declare their own
// expertise. It uses the node's own secret (COPNET_AUTH_SECRET, or the all-in-one's data
// dir), exactly as `copnet token --role member --sub ID` would.
type memberSigner func(person string) (string, error)

// loadMemberSigner finds the node's signing secret: the file given, else COPNET_AUTH_SECRET,
// else the all-in-one's data dir ($COPNET_DATA_DIR, default ./var). Nil when there is none.
func loadMemberSigner(file string) (memberSigner, string) {
	secret := ""
	where := ""
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err.Error()
		}
		secret, where = strings.TrimSpace(string(b)), file
	case os.Getenv("COPNET_AUTH_SECRET") != "":
		secret, where = os.Getenv("COPNET_AUTH_SECRET"), "COPNET_AUTH_SECRET"
	default:
		dir := envOr("COPNET_DATA_DIR", "./var")
		p := filepath.Join(dir, "auth-secret")
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Sprintf("no COPNET_AUTH_SECRET and no %s", p)
		}
		secret, where = strings.TrimSpace(string(b)), p
	}
	if len(secret) < 16 {
		return nil, where + " holds no secret of 16 characters or more"
	}
	signer, err := access.NewSigner([]byte(secret), nil)
	if err != nil {
		return nil, err.Error()
	}
	return func(person string) (string, error) {
		return signer.Sign(httpx.Claims{Subject: person}, 15*time.Minute)
	}, where
}

type pollPurpose struct {
	Purpose string `json:"purpose"`
}

type session struct {
	ID       string    `json:"id"`
	Number   int       `json:"number"`
	StartsAt time.Time `json:"starts_at"`
	Status   string    `json:"status"`
}

type member struct {
	PersonID string `json:"person_id"`
	Name     string `json:"name"`
}

// members lists a CoP's members in roster order (the demo's order, so "the first n attend"
// is the same people on every run).
func (s *seeder) members(ctx context.Context, cop CoP, d demoCoP) ([]member, error) {
	var ms struct {
		Members []member `json:"members"`
	}
	if err := s.c.JSON(ctx, "GET", "/v1/cops/"+cop.ID+"/members", nil, &ms); err != nil {
		return nil, err
	}
	out := make([]member, 0, len(d.Roster))
	for _, p := range d.Roster {
		if i := slices.IndexFunc(ms.Members, func(m member) bool { return m.Name == p.Name }); i >= 0 {
			out = append(out, ms.Members[i])
		}
	}
	if len(out) != len(d.Roster) {
		return nil, fmt.Errorf("%d of %d roster people are members", len(out), len(d.Roster))
	}
	return out, nil
}

// history runs the CoP's past program when it has one: planned six months back, each
// session's attendance recorded, held, and its evaluation answered and closed. Every step
// is skipped when done, so a second run (or one after an interruption) finishes the rest.
func (s *seeder) history(ctx context.Context, cop CoP, d demoCoP) error {
	h, ok := demoHistories[d.Name]
	if !ok || d.Program == nil {
		return nil
	}
	var ss struct {
		Sessions []session `json:"sessions"`
	}
	if err := s.c.JSON(ctx, "GET", "/v1/cops/"+cop.ID+"/sessions?to="+url.QueryEscape(s.now.UTC().Format(time.RFC3339)), nil, &ss); err != nil {
		return err
	}
	if len(ss.Sessions) == 0 {
		p := d.Program
		first := pastWeekday(len(h.Attended), p.First(s.now))
		var planned struct {
			Sessions []session `json:"sessions"`
		}
		err := s.c.JSON(ctx, "POST", "/v1/cops/"+cop.ID+"/programs", map[string]any{
			"title": h.Title, "sessions": len(h.Attended), "first_session_at": first, "timezone": p.Timezone,
			"cadence": p.Cadence, "duration_minutes": p.Duration, "format": p.Format,
		}, &planned)
		if err != nil {
			return err
		}
		ss.Sessions = planned.Sessions
		s.say("CoP %q: past program %q planned (%d sessions from %s)", d.Name, h.Title, len(planned.Sessions), first)
	} else {
		s.say("CoP %q: past program exists (%d sessions)", d.Name, len(ss.Sessions))
	}
	people, err := s.members(ctx, cop, d)
	if err != nil {
		return err
	}
	slices.SortFunc(ss.Sessions, func(a, b session) int { return a.StartsAt.Compare(b.StartsAt) })
	for i, sess := range ss.Sessions {
		if i >= len(h.Attended) {
			break
		}
		if sess.Status == "held" {
			s.say("  session %d: held, exists", sess.Number)
		} else {
			records := make([]map[string]string, len(people))
			for j, p := range people {
				status := "attended"
				if j >= h.Attended[i] {
					status = []string{"apologies", "absent"}[j%2]
				}
				records[j] = map[string]string{"person_id": p.PersonID, "status": status}
			}
			if err := s.c.JSON(ctx, "POST", "/v1/sessions/"+sess.ID+"/attendance", records, nil); err != nil {
				return fmt.Errorf("session %d attendance: %w", sess.Number, err)
			}
			if err := s.c.JSON(ctx, "POST", "/v1/sessions/"+sess.ID+"/held", map[string]any{}, nil); err != nil {
				return fmt.Errorf("session %d held: %w", sess.Number, err)
			}
			s.say("  session %d (%s): %d of %d attended, held", sess.Number, sess.StartsAt.Format(time.DateOnly), h.Attended[i], len(people))
		}
		if err := s.evaluation(ctx, sess, people, h.Confidence[i]); err != nil {
			return fmt.Errorf("session %d evaluation: %w", sess.Number, err)
		}
	}
	return nil
}

// evaluation answers a held session's evaluation as its attendees would, then closes it.
func (s *seeder) evaluation(ctx context.Context, sess session, people []member, confidence []int) error {
	var ev struct {
		Poll struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"poll"`
		Results struct {
			Withheld  bool `json:"withheld"`
			Responses int  `json:"responses"`
		} `json:"results"`
	}
	// Feedback opens the evaluation when session_held reaches it.
	err := s.eventually(ctx, func(err error) bool { return StatusOf(err) == 404 }, func() error {
		return s.c.JSON(ctx, "GET", "/v1/sessions/"+sess.ID+"/evaluation", nil, &ev)
	})
	if err != nil {
		return err
	}
	if ev.Poll.Status == "closed" {
		s.say("    evaluation: closed, exists")
		return nil
	}
	if s.sign == nil {
		s.say("    evaluation: open, not answered (no signing secret: %s)", s.signWhy)
		return nil
	}
	answered := 0
	for j, c := range confidence {
		tok, err := s.sign(people[j].PersonID)
		if err != nil {
			return err
		}
		member := NewClient(s.c.BaseURL, tok)
		member.HTTP = s.c.HTTP
		var ballot struct {
			Ballot string `json:"ballot"`
		}
		// The member must be known to feedback (member_joined) before a ballot is issued.
		err = s.eventually(ctx, func(err error) bool { return StatusOf(err) == 403 }, func() error {
			return member.JSON(ctx, "POST", "/v1/polls/"+ev.Poll.ID+"/ballots", nil, &ballot)
		})
		if StatusOf(err) == 409 {
			continue // answered on an earlier run
		}
		if err != nil {
			return err
		}
		answer := map[string]any{"confidence": c, "usefulness": min(5, c+1), "takeaway": []string{"shared practice", "next steps"}[j%2]}
		anonymous := NewClient(s.c.BaseURL, "")
		anonymous.HTTP = s.c.HTTP
		if err := anonymous.JSON(ctx, "POST", "/v1/polls/"+ev.Poll.ID+"/responses",
			map[string]any{"ballot": ballot.Ballot, "answer": answer}, nil); err != nil {
			return err
		}
		answered++
	}
	if err := s.c.JSON(ctx, "POST", "/v1/polls/"+ev.Poll.ID+"/close", nil, nil); err != nil {
		return err
	}
	s.say("    evaluation: %d answers, closed", answered)
	return nil
}

// gapFilledElsewhere has the Victorian expert declare co-design, then runs the Western
// Australian CoP's learning-priorities ranking in the room (answered by code, as devices in
// the room would) unless it exists already.
func (s *seeder) gapFilledElsewhere(ctx context.Context, cops []CoP) error {
	wa := slices.IndexFunc(demoCoPs, func(d demoCoP) bool { return d.Name == demoPriorities.CoP })
	vic := slices.IndexFunc(demoCoPs, func(d demoCoP) bool { return d.Name == demoExpert.CoP })
	if wa < 0 || vic < 0 {
		return errors.New("the demo lacks the CoPs of its gap")
	}
	// The supply comes first: a gap lists the regions able to fill it when it is identified.
	if s.sign == nil {
		s.say("expertise: not declared (no signing secret: %s)", s.signWhy)
	} else if err := s.expertise(ctx, cops[vic], demoCoPs[vic]); err != nil {
		return err
	}
	var polls struct {
		Polls []pollPurpose `json:"polls"`
	}
	err := s.eventually(ctx, notYetKnown, func() error {
		return s.c.JSON(ctx, "GET", "/v1/cops/"+cops[wa].ID+"/polls", nil, &polls)
	})
	if err != nil {
		return err
	}
	if slices.ContainsFunc(polls.Polls, func(p pollPurpose) bool { return p.Purpose == "learning_priorities" }) {
		s.say("CoP %q: learning priorities exist", demoPriorities.CoP)
	} else {
		var poll struct {
			ID   string `json:"id"`
			Code string `json:"code"`
		}
		err := s.eventually(ctx, notYetKnown, func() error {
			return s.c.JSON(ctx, "POST", "/v1/polls", map[string]any{
				"cop_id": cops[wa].ID, "kind": "ranking", "question": demoPriorities.Question,
				"options": demoPriorities.Answers[0], "audience": "open", "purpose": "learning_priorities",
			}, &poll)
		})
		if err != nil {
			return err
		}
		room := NewClient(s.c.BaseURL, "")
		room.HTTP = s.c.HTTP
		for _, a := range demoPriorities.Answers {
			device := make([]byte, 16)
			_, _ = rand.Read(device)
			if err := room.JSON(ctx, "POST", "/v1/polls/by-code/"+url.PathEscape(poll.Code)+"/responses",
				map[string]any{"device_token": hex.EncodeToString(device), "answer": a}, nil); err != nil {
				return err
			}
		}
		if err := s.c.JSON(ctx, "POST", "/v1/polls/"+poll.ID+"/close", nil, nil); err != nil {
			return err
		}
		s.say("CoP %q: learning priorities ranked in the room (%d answers): %s first", demoPriorities.CoP, len(demoPriorities.Answers), demoPriorities.Answers[0][0])
	}
	return nil
}

// expertise has the demo's expert declare their topic from their CoP. Re-declaring from the
// same CoP replaces the declaration, so a second run changes nothing.
func (s *seeder) expertise(ctx context.Context, cop CoP, d demoCoP) error {
	people, err := s.members(ctx, cop, d)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(people, func(m member) bool { return m.Name == demoExpert.Name })
	tok, err := s.sign(people[i].PersonID)
	if err != nil {
		return err
	}
	expert := NewClient(s.c.BaseURL, tok)
	expert.HTTP = s.c.HTTP
	err = s.eventually(ctx, notYetKnown, func() error {
		return expert.JSON(ctx, "POST", "/v1/expertise", map[string]any{
			"person_id": people[i].PersonID, "cop_id": cop.ID, "topics": []string{demoExpert.Topic},
			"level": "expert", "visibility": "national",
		}, nil)
	})
	if err != nil {
		return err
	}
	s.say("expertise: %s (%s) knows %s, visible nationally", demoExpert.Name, d.Region, demoExpert.Topic)
	return nil
}

// pastWeekday is the first session of a past program of n monthly sessions on the same
// weekday rule as the upcoming one (from its first local date-time), starting n+1 months
// before the upcoming one: its last session falls last month, before today.
func pastWeekday(n int, upcoming string) string {
	next, err := time.Parse("2006-01-02T15:04", upcoming)
	if err != nil {
		return upcoming
	}
	// The upcoming first session is the nth weekday of next month; the same nth weekday
	// n+1 months earlier starts the past program.
	nth := (next.Day()-1)/7 + 1
	first := time.Date(next.Year(), next.Month()-time.Month(n+1), 1, 0, 0, 0, 0, time.UTC)
	offset := (int(next.Weekday()) - int(first.Weekday()) + 7) % 7
	day := first.AddDate(0, 0, offset+7*(nth-1))
	return day.Format("2006-01-02") + next.Format("T15:04")
}
