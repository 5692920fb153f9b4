package mail

import (
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// pageLimit is how many of the newest mails the page shows.
const pageLimit = 100

// LoopbackPage serves the mails kept in dir as one HTML page, to requests from the loopback
// interface only: it shows sign-in links, which are as good as a password. Anyone else gets
// a 403 problem, and so does a request that came through a proxy (it carries Forwarded,
// X-Forwarded-For or X-Real-IP), since a proxy on the same machine would make every caller
// look local. Mount it only on a server that people reach directly.
func LoopbackPage(dir Dir) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r) {
			httpx.WriteProblem(w, r, apperr.Forbidden("the outgoing mail page answers requests from this machine's loopback interface only"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		mails, listErr := dir.List()
		data := pageData{Dir: dir.Path, Total: len(mails)}
		if listErr != nil {
			data.Problem = listErr.Error()
		}
		if len(mails) > pageLimit {
			mails = mails[:pageLimit]
		}
		for _, m := range mails {
			data.Mails = append(data.Mails, pageMail{Stored: m, Body: linkify(m.Text)})
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		// The page holds secrets: not cached, not framed, no scripts, and a followed link
		// does not tell its target where it was found.
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		if err := pageTemplate.Execute(w, data); err != nil {
			// Headers are gone already; the connection's client sees a cut page.
			return
		}
	})
}

// fromLoopback reports whether r came straight from a loopback address.
func fromLoopback(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-IP"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

type pageData struct {
	Dir     string
	Total   int
	Problem string
	Mails   []pageMail
}

type pageMail struct {
	Stored
	Body []segment
}

// segment is a piece of a text body: plain text, or a link to show as one.
type segment struct {
	Text string
	Link bool
}

// linkPattern finds http(s) URLs in a text body; a trailing full stop or bracket is prose.
var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+[^\s<>".,;:!?)\]']`)

// linkify cuts text into plain and link segments. html/template escapes both, and checks
// each href (only http and https ever reach it here).
func linkify(text string) []segment {
	var out []segment
	last := 0
	for _, m := range linkPattern.FindAllStringIndex(text, -1) {
		if m[0] > last {
			out = append(out, segment{Text: text[last:m[0]]})
		}
		out = append(out, segment{Text: text[m[0]:m[1]], Link: true})
		last = m[1]
	}
	if last < len(text) {
		out = append(out, segment{Text: text[last:]})
	}
	return out
}

var pageTemplate = template.Must(template.New("mail").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "(no date)"
		}
		return t.Format("2006-01-02 15:04:05 -0700")
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>copnet: outgoing mail</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}
article{border-top:1px solid #ccc;padding:.5rem 0}pre{white-space:pre-wrap;word-break:break-word}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:0}dt{font-weight:bold}</style>
</head><body>
<h1>Outgoing mail</h1>
<p>No SMTP server is configured (COPNET_SMTP_URL), so copnet keeps the mail it would send in
<code>{{.Dir}}</code> and shows it here, to this machine only. {{.Total}} mail(s){{if gt .Total (len .Mails)}}, the newest {{len .Mails}} shown{{end}}.</p>
{{if .Problem}}<p role="alert">Some files could not be read: {{.Problem}}</p>{{end}}
{{range .Mails}}<article>
<h2>{{.Subject}}</h2>
<dl><dt>To</dt><dd>{{.To}}</dd><dt>From</dt><dd>{{.From}}</dd><dt>Date</dt><dd>{{when .Date}}</dd>{{if .HTML}}<dt>HTML</dt><dd>an HTML version is in {{.File}}</dd>{{end}}</dl>
<pre>{{range .Body}}{{if .Link}}<a href="{{.Text}}" rel="noreferrer noopener">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}</pre>
</article>
{{else}}<p>No mail yet.</p>
{{end}}</body></html>
`))
