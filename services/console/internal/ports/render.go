package ports

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/console/internal/projection"
)

//go:embed web/templates/*.html
var templateFS embed.FS

//go:embed web/static
var staticFS embed.FS

// pageData is everything a page template may show.
type pageData struct {
	Title   string
	Caller  httpx.Claims
	CSRF    string
	Notice  string
	Error   string
	Status  int
	Network *projection.Network
	Region  *projection.RegionDetail
	CoP     *projection.CoPDetail
	SignIn  *signinView
	// Ticket is a setup link's ticket, carried by the setup form.
	Ticket string
	// Proposals await the hub's decision and AwaitingChanges their applicant's edit, whole
	// as the registry holds them; QueueError says why they could not be read.
	Proposals, AwaitingChanges []proposal
	QueueError                 string
}

// pages holds one parsed template set per page, each with the shared layout.
type pages struct {
	byName map[string]*template.Template
}

var pageNames = []string{"national", "region", "cop", "signin", "setup", "account", "invitation", "notifications", "error",
	"apply", "applications", "application", "me", "answer", "quiz",
	"join", "room", "deck", "present",
	"requests", "request", "ask", "expertise",
	"map", "project", "overlap", "resources",
	"report", "copreport",
	"charter", "accept", "roster", "directory", "copjoin",
	"program", "session", "attendance", "mysessions",
	"removal-new", "removal", "appointment-new", "appointment",
}

func mustParsePages() *pages {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
			"web/templates/layout.html", "web/templates/partials.html", "web/templates/"+name+".html"))
		p.byName[name] = t
	}
	return p
}

// render writes a page whole or not at all: a template failing half-way must not leave a
// half page with a 200.
func (p *pages) render(rw http.ResponseWriter, r *http.Request, status int, name string, d any) {
	var buf bytes.Buffer
	if err := p.byName[name].Execute(&buf, d); err != nil {
		slog.ErrorContext(r.Context(), "render page", "page", name, "error", err)
		http.Error(rw, "the page could not be drawn", http.StatusInternalServerError)
		return
	}
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	// Everything the pages use is served from here; nothing runs inline.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	rw.WriteHeader(status)
	_, _ = rw.Write(buf.Bytes())
}

// static serves the embedded stylesheet and script.
func (w *Web) static(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	raw, err := staticFS.ReadFile("web/static/" + name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(rw, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		rw.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		rw.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	rw.Header().Set("Cache-Control", "public, max-age=3600")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = rw.Write(raw)
}

var funcs = template.FuncMap{
	"pct":  pct,
	"mean": func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"meanp": func(f *float64) string {
		return optional(f, func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) })
	},
	"ratep": func(f *float64) string { return optional(f, pct) },
	"date":  date,
	"datep": func(t *time.Time) string { return optionalTime(t, date) },
	"datetimep": func(t *time.Time) string {
		return optionalTime(t, func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") })
	},
	"ago":       ago,
	"dec":       func(n int) int { return n - 1 },
	"roleWords": roleWords,
	"join":      strings.Join,
	"list":      func(s ...string) []string { return s },
	"title":     title,
	"statuses":  func() []string { return projection.Statuses },
	"stages":    func() []string { return projection.Stages },
	"sparkline": sparkline,
	"trend":     trendWords,
	"bar":       bar,
	"isNational": func(c httpx.Claims) bool {
		return c.IsNational()
	},
	"intp": func(p *int) string {
		if p == nil {
			return "—"
		}
		return strconv.Itoa(*p)
	},
	"checkin": checkinText,
	"count":   count,
	"inc":     func(i int) int { return i + 1 },
	// points lists the whole numbers lo..hi (a scale's points, a ranking's places).
	"points": func(lo, hi int) []int {
		var out []int
		for i := lo; i <= hi && len(out) <= 100; i++ {
			out = append(out, i)
		}
		return out
	},
	"add": func(a, b int) int { return a + b },
	// nth is the i-th of a list of form values, or "".
	"nth": func(l []string, i int) string {
		if i < 0 || i >= len(l) {
			return ""
		}
		return l[i]
	},
}

func pct(f float64) string { return strconv.Itoa(int(math.Round(f*100))) + "%" }

func optional(f *float64, show func(float64) string) string {
	if f == nil {
		return "—"
	}
	return show(*f)
}

func optionalTime(t *time.Time, show func(time.Time) string) string {
	if t == nil {
		return "—"
	}
	return show(*t)
}

func date(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

// ago says how long ago t was in words people read at a glance.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func title(s string) string {
	if s == "" {
		return "—"
	}
	s = strings.ReplaceAll(s, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

func checkinText(c *projection.Checkin) string {
	if c == nil {
		return "No check-in yet"
	}
	return fmt.Sprintf("%s say it meets their needs (yes %d · partly %d · no %d; %d responses, %s)",
		pct(c.YesShare()), c.MeetsNeeds["yes"], c.MeetsNeeds["partly"], c.MeetsNeeds["no"], c.Responses, date(c.PublishedAt))
}

// sparkline draws a small line chart of values on the scale lo..hi, with its text
// equivalent as the accessible name: a screen reader hears the same figures the eye sees.
// kind "rate" shows values as percentages, "mean" on the 1-5 scale.
func sparkline(label, kind string, values []float64) template.HTML {
	if len(values) == 0 {
		return template.HTML(`<span class="muted">no data yet</span>`)
	}
	lo, hi := 0.0, 1.0
	show := pct
	if kind == "mean" {
		lo, hi = 1, 5
		show = func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
	}
	const w, h, pad = 120.0, 32.0, 3.0
	words := make([]string, len(values))
	pts := make([]string, len(values))
	var x, y float64
	for i, v := range values {
		words[i] = show(v)
		x = pad
		if len(values) > 1 {
			x = pad + float64(i)*(w-2*pad)/float64(len(values)-1)
		}
		frac := (math.Max(lo, math.Min(hi, v)) - lo) / (hi - lo)
		y = h - pad - frac*(h-2*pad)
		pts[i] = fmt.Sprintf("%.1f,%.1f", x, y)
	}
	name := fmt.Sprintf("%s, oldest to latest: %s", label, strings.Join(words, ", "))
	esc := template.HTMLEscapeString(name)
	return template.HTML(fmt.Sprintf(
		`<span class="spark"><svg role="img" aria-label="%s" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" focusable="false"><title>%s</title>`+
			`<line x1="0" y1="%.1f" x2="%.0f" y2="%.1f" class="base"/><polyline points="%s"/><circle cx="%.1f" cy="%.1f" r="2.5"/></svg>`+
			`<span class="spark-latest">%s</span></span>`,
		esc, w, h, w, h, esc, h-pad, w, h-pad, strings.Join(pts, " "), x, y, template.HTMLEscapeString(show(values[len(values)-1]))))
}

// bar draws one stacked bar of counts (CoPs by status or by stage); the table beside it
// holds the same numbers as text.
func bar(label string, keys []string, counts map[string]int) template.HTML {
	total := 0
	for _, k := range keys {
		total += counts[k]
	}
	if total == 0 {
		return template.HTML(`<span class="muted">none</span>`)
	}
	const w, h = 160.0, 14.0
	var parts, words []string
	x := 0.0
	for i, k := range keys {
		n := counts[k]
		if n == 0 {
			continue
		}
		words = append(words, fmt.Sprintf("%s %d", k, n))
		bw := w * float64(n) / float64(total)
		parts = append(parts, fmt.Sprintf(`<rect x="%.1f" y="0" width="%.1f" height="%.0f" class="c%d"/>`, x, bw, h, i))
		x += bw
	}
	esc := template.HTMLEscapeString(label + ": " + strings.Join(words, ", "))
	return template.HTML(fmt.Sprintf(`<svg class="bar" role="img" aria-label="%s" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" focusable="false"><title>%s</title>%s</svg>`,
		esc, w, h, w, h, esc, strings.Join(parts, "")))
}

// roleWords names the caller's roles for the page header ("coordinator, member"), once
// each and without ids: a person reads their CoPs' names on their pages, not ids.
func roleWords(c httpx.Claims) string {
	var out []string
	for _, g := range c.Grants {
		role := strings.ReplaceAll(string(g.Role), "_", " ")
		if !slices.Contains(out, role) {
			out = append(out, role)
		}
	}
	return strings.Join(out, ", ")
}
