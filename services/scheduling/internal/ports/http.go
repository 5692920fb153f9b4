// Package ports exposes scheduling over HTTP: JSON under /v1, and iCalendar feeds.
package ports

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/scheduling/domain"
	"github.com/copnet/copnet/services/scheduling/internal/app"
)

// Route is one HTTP route; the table is also checked against schemas/openapi/scheduling.yaml.
type Route = httpx.Route

// Feeds is what calendar links and feeds are built from.
type Feeds struct {
	// PublicURL is the node's base URL (COPNET_PUBLIC_URL): feed links point there, never
	// at a Host or X-Forwarded-* header a client chose.
	PublicURL string
	// Organizer is the no-reply address named as each event's ORGANIZER.
	Organizer string
}

// HTTP serves scheduling's routes.
type HTTP struct {
	app   *app.Application
	now   func() time.Time
	feeds Feeds
}

// NewHTTP returns the HTTP port over the application.
func NewHTTP(a *app.Application, now func() time.Time, feeds Feeds) *HTTP {
	return &HTTP{app: a, now: now, feeds: feeds}
}

// Routes lists every route scheduling serves.
func (h *HTTP) Routes() []Route {
	return []Route{
		{Method: "POST", Path: "/v1/cops/{id}/programs", Handle: h.planProgram},
		{Method: "GET", Path: "/v1/cops/{id}/sessions", Handle: h.listSessions},
		{Method: "GET", Path: "/v1/sessions/{id}", Handle: h.getSession},
		{Method: "PUT", Path: "/v1/sessions/{id}", Handle: h.reschedule},
		{Method: "POST", Path: "/v1/sessions/{id}/cancel", Handle: h.cancel},
		{Method: "PUT", Path: "/v1/sessions/{id}/hosts", Handle: h.setHosts},
		{Method: "PUT", Path: "/v1/cops/{id}/rotation/{person_id}", Handle: h.setRotation},
		{Method: "POST", Path: "/v1/sessions/{id}/attendance", Handle: h.recordAttendance},
		{Method: "POST", Path: "/v1/sessions/{id}/held", Handle: h.hold},
		{Method: "GET", Path: "/v1/cops/{id}/participation", Handle: h.participation},
		{Method: "GET", Path: "/v1/cops/{id}/calendar.ics", Handle: h.copCalendar},
		{Method: "GET", Path: "/v1/people/{id}/calendar.ics", Handle: h.personCalendar},
		{Method: "POST", Path: "/v1/cops/{id}/calendar-link", Handle: h.copCalendarLink},
		{Method: "POST", Path: "/v1/people/{id}/calendar-link", Handle: h.personCalendarLink},
		{Method: "GET", Path: "/v1/cops/{id}/programs", Handle: h.listPrograms},
		{Method: "PUT", Path: "/v1/sessions/{id}/rsvp", Handle: h.answer},
		{Method: "GET", Path: "/v1/sessions/{id}/rsvps", Handle: h.rsvps},
		{Method: "GET", Path: "/v1/sessions/{id}/attendance", Handle: h.attendance},
		{Method: "POST", Path: "/v1/sessions/{id}/swap", Handle: h.swap},
		{Method: "GET", Path: "/v1/me/sessions", Handle: h.mySessions},
	}
}

// Register mounts the routes on mux.
func (h *HTTP) Register(mux *http.ServeMux) { httpx.Mount(mux, h.Routes()) }

// SessionView is a session as the API shows it; times are RFC 3339 in UTC, and timezone
// says where the CoP meets.
type SessionView struct {
	ID           string     `json:"id"`
	ProgramID    string     `json:"program_id"`
	CoPID        string     `json:"cop_id"`
	Number       int        `json:"number"`
	StartsAt     time.Time  `json:"starts_at"`
	EndsAt       time.Time  `json:"ends_at"`
	Timezone     string     `json:"timezone"`
	LocalStart   string     `json:"local_start"`
	Topic        string     `json:"topic"`
	Location     string     `json:"location"`
	Link         string     `json:"link"`
	Status       string     `json:"status"`
	Sequence     int        `json:"sequence"`
	Facilitator  string     `json:"facilitator"`
	NoteTaker    string     `json:"note_taker"`
	HostGroup    []string   `json:"host_group"`
	CancelReason string     `json:"cancel_reason,omitempty"`
	Notes        string     `json:"notes,omitempty"`
	Outcomes     []string   `json:"outcomes"`
	HeldAt       *time.Time `json:"held_at,omitempty"`
}

func view(s *domain.Session) SessionView {
	local := ""
	if loc, err := domain.LoadZone(s.Timezone); err == nil {
		local = s.StartsAt.In(loc).Format("2006-01-02T15:04:05")
	}
	v := SessionView{
		ID: s.ID, ProgramID: s.ProgramID, CoPID: s.CoPID, Number: s.Number, StartsAt: s.StartsAt.UTC(),
		EndsAt: s.EndsAt.UTC(), Timezone: s.Timezone, LocalStart: local, Topic: s.Topic, Location: s.Location,
		Link: s.Link, Status: string(s.Status), Sequence: s.Sequence, Facilitator: s.Facilitator,
		NoteTaker: s.NoteTaker, HostGroup: s.HostGroup, CancelReason: s.CancelReason, Notes: s.Notes,
		Outcomes: s.Outcomes, HeldAt: s.HeldAt,
	}
	if v.HostGroup == nil {
		v.HostGroup = []string{}
	}
	if v.Outcomes == nil {
		v.Outcomes = []string{}
	}
	return v
}

func views(ss []*domain.Session) []SessionView {
	out := make([]SessionView, len(ss))
	for i, s := range ss {
		out[i] = view(s)
	}
	return out
}

func one(status int, s *domain.Session, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return status, view(s), nil
}

func (h *HTTP) planProgram(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.NewProgram
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	p, err := h.app.PlanProgram(ctx, c, r.PathValue("id"), in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{
		"id": p.Program.ID, "cop_id": p.Program.CoPID, "title": p.Program.Title, "sessions": views(p.Sessions),
		"first_session_at": p.Program.FirstSessionAt, "timezone": p.Program.Timezone, "cadence": p.Program.Cadence,
		"duration_minutes": p.Program.DurationMinutes, "format": p.Program.Format, "checkins": p.Program.Checkins,
		"created_at": p.Program.CreatedAt.UTC(),
	}, nil
}

func (h *HTTP) listSessions(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	var v apperr.Validator
	from, to := bound(&v, "from", q.Get("from")), bound(&v, "to", q.Get("to"))
	if err := v.Err(); err != nil {
		return 0, nil, err
	}
	ss, err := h.app.Sessions(ctx, c, r.PathValue("id"), from, to)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"sessions": views(ss)}, nil
}

// bound reads an optional RFC 3339 instant or a date (midnight UTC) query parameter.
func bound(v *apperr.Validator, name, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t
	}
	v.Check(false, name, "must be an RFC 3339 time (2026-03-01T00:00:00Z) or a date (2026-03-01)")
	return time.Time{}
}

func (h *HTTP) getSession(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	s, err := h.app.Session(ctx, c, r.PathValue("id"))
	return one(http.StatusOK, s, err)
}

func (h *HTTP) reschedule(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Reschedule
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	s, err := h.app.RescheduleSession(ctx, c, r.PathValue("id"), in)
	return one(http.StatusOK, s, err)
}

func (h *HTTP) cancel(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Cancellation
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	s, err := h.app.CancelSession(ctx, c, r.PathValue("id"), in)
	return one(http.StatusOK, s, err)
}

func (h *HTTP) setHosts(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Hosts
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	s, err := h.app.SetHosts(ctx, c, r.PathValue("id"), in)
	return one(http.StatusOK, s, err)
}

func (h *HTTP) setRotation(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Rotation
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	w, err := h.app.SetRotation(ctx, c, r.PathValue("id"), r.PathValue("person_id"), in)
	if err != nil {
		return 0, nil, err
	}
	roles := []string{}
	if w.Facilitator {
		roles = append(roles, string(domain.Facilitator))
	}
	if w.NoteTaker {
		roles = append(roles, string(domain.NoteTaker))
	}
	return http.StatusOK, map[string]any{"cop_id": r.PathValue("id"), "person_id": r.PathValue("person_id"), "roles": roles}, nil
}

func (h *HTTP) recordAttendance(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in []app.Record
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	ev, err := h.app.RecordAttendance(ctx, c, r.PathValue("id"), in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"session_id": ev.SessionID, "attended": ev.Attended,
		"apologies": ev.Apologies, "absent": ev.Absent, "records": ev.Records}, nil
}

func (h *HTTP) hold(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Holding
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	s, err := h.app.HoldSession(ctx, c, r.PathValue("id"), in)
	return one(http.StatusOK, s, err)
}

func (h *HTTP) participation(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	p, err := h.app.Participation(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	rows := make([]map[string]any, len(p.Sessions))
	for i, s := range p.Sessions {
		rows[i] = map[string]any{"session_id": s.SessionID, "number": s.Number, "starts_at": s.StartsAt,
			"attended": s.Attended, "apologies": s.Apologies, "absent": s.Absent, "members": s.Members, "rate": s.Rate()}
	}
	trend := "insufficient"
	switch {
	case !p.Trend.Enough:
	case p.Trend.Declining:
		trend = "declining"
	case p.Trend.Drop < 0:
		trend = "rising"
	default:
		trend = "steady"
	}
	return http.StatusOK, map[string]any{
		"cop_id": r.PathValue("id"), "sessions": rows, "trend": trend,
		"early_rate": p.Trend.EarlyRate, "recent_rate": p.Trend.RecentRate, "drop": p.Trend.Drop,
		"declining": p.Trend.Declining, "window": p.Rule.Window, "threshold": p.Rule.Drop,
	}, nil
}

func (h *HTTP) copCalendar(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	cop, entries, err := h.app.CoPCalendar(ctx, c, r.PathValue("id"), r.URL.Query().Get("key"))
	if err != nil {
		return 0, nil, err
	}
	return h.calendar(cop.Title(), entries)
}

func (h *HTTP) personCalendar(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	entries, err := h.app.PersonCalendar(ctx, c, r.PathValue("id"), r.URL.Query().Get("key"))
	if err != nil {
		return 0, nil, err
	}
	return h.calendar("My CoP sessions", entries)
}

func (h *HTTP) calendar(name string, entries []domain.CalendarEntry) (int, any, error) {
	var b bytes.Buffer
	if err := writeCalendar(&b, name, h.feeds.Organizer, h.feeds.PublicURL, entries, h.now()); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, httpx.Raw{Header: http.Header{
		"Content-Type": {"text/calendar; charset=utf-8"},
		// A feed link is a secret: keep it out of shared caches.
		"Cache-Control": {"private, max-age=300"},
	}, Data: b.Bytes()}, nil
}

func (h *HTTP) copCalendarLink(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	key, err := h.app.NewCoPFeedKey(ctx, c, r.PathValue("id"))
	return h.link("/v1/cops/"+url.PathEscape(r.PathValue("id"))+"/calendar.ics", key, err)
}

func (h *HTTP) personCalendarLink(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	key, err := h.app.NewPersonFeedKey(ctx, c, r.PathValue("id"))
	return h.link("/v1/people/"+url.PathEscape(r.PathValue("id"))+"/calendar.ics", key, err)
}

// link answers with the secret feed URL under the node's configured public URL. Building it
// from the request's Host or X-Forwarded-Host would let anyone who can send a request
// (or a proxy that passes such headers through) make copnet hand out a link to their own
// server, which then receives the secret key from every calendar app that subscribes.
func (h *HTTP) link(path, key string, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	base, perr := url.Parse(h.feeds.PublicURL)
	if perr != nil || base.Host == "" {
		return 0, nil, fmt.Errorf("scheduling: public URL %q is not an absolute URL", h.feeds.PublicURL)
	}
	query := url.Values{"key": {key}}.Encode()
	u := *base
	u.Path = strings.TrimSuffix(base.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = query
	webcal := u
	webcal.Scheme = "webcal"
	return http.StatusCreated, map[string]any{"url": u.String(), "path": path + "?" + query, "webcal": webcal.String()}, nil
}

func programView(p *domain.Program) map[string]any {
	return map[string]any{
		"id": p.ID, "cop_id": p.CoPID, "title": p.Title, "sessions": p.Sessions, "first_session_at": p.FirstSessionAt,
		"timezone": p.Timezone, "cadence": p.Cadence, "duration_minutes": p.DurationMinutes, "format": p.Format,
		"checkins": p.Checkins, "created_at": p.CreatedAt.UTC(),
	}
}

func (h *HTTP) listPrograms(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	ps, err := h.app.Programs(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]any, len(ps))
	for i, p := range ps {
		out[i] = programView(p)
	}
	return http.StatusOK, map[string]any{"programs": out}, nil
}

func rsvpView(v domain.RSVP) map[string]any {
	return map[string]any{"session_id": v.SessionID, "person_id": v.PersonID, "answer": v.Answer, "answered_at": v.AnsweredAt.UTC()}
}

func (h *HTTP) answer(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.RSVP
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.app.Answer(ctx, c, r.PathValue("id"), in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rsvpView(v), nil
}

func (h *HTTP) rsvps(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	vs, err := h.app.RSVPs(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]any, len(vs))
	for i, v := range vs {
		out[i] = rsvpView(v)
	}
	return http.StatusOK, map[string]any{"session_id": r.PathValue("id"), "rsvps": out}, nil
}

func (h *HTTP) attendance(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	recs, err := h.app.AttendanceOf(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"session_id": r.PathValue("id"), "records": recs}, nil
}

func (h *HTTP) swap(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	var in app.Swap
	if err := httpx.DecodeSigned(c, r, &in); err != nil {
		return 0, nil, err
	}
	ss, err := h.app.SwapRole(ctx, c, r.PathValue("id"), in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"sessions": views(ss[:])}, nil
}

func (h *HTTP) mySessions(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	limit := 10
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, nil, apperr.Invalid("limit", "must be a whole number between 1 and 50")
		}
		limit = n
	}
	ps, err := h.app.NextSessions(ctx, c, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]any, len(ps))
	for i, p := range ps {
		out[i] = map[string]any{"session": view(p.Session), "cop_name": p.CoP.Title(), "program_title": p.ProgramTitle,
			"program_sessions": p.ProgramSessions, "rsvp": p.RSVP}
	}
	return http.StatusOK, map[string]any{"sessions": out}, nil
}
