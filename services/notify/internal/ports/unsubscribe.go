package ports

import (
	"embed"
	"html/template"
	"net/http"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/notify/domain"
	"github.com/copnet/copnet/services/notify/internal/app"
)

//go:embed templates/*.html
var templates embed.FS

var pages = template.Must(template.ParseFS(templates, "templates/*.html"))

type unsubscribeView struct {
	Token, Title string
	Done, Bad    bool
	Preferences  string
}

// unsubscribePage asks before turning a kind off: mail scanners follow links with GET, so
// GET never changes anything.
func (h *HTTP) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	kind, err := h.app.CheckUnsubscribe(token)
	v := unsubscribeView{Token: token, Title: domain.Titles[kind], Bad: err != nil, Preferences: app.PreferencesPath}
	h.render(w, v)
}

// unsubscribe turns the kind off: the page's button, or a mail client's one-click POST
// (RFC 8058, body List-Unsubscribe=One-Click).
func (h *HTTP) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	token := r.URL.Query().Get("token")
	kind, err := h.app.Unsubscribe(r.Context(), token)
	if err != nil {
		if _, bad := h.app.CheckUnsubscribe(token); bad != nil {
			w.WriteHeader(http.StatusBadRequest)
			h.render(w, unsubscribeView{Bad: true, Preferences: app.PreferencesPath})
			return
		}
		httpx.WriteProblem(w, r, err)
		return
	}
	h.render(w, unsubscribeView{Done: true, Title: domain.Titles[kind], Preferences: app.PreferencesPath})
}

func (h *HTTP) render(w http.ResponseWriter, v unsubscribeView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	_ = pages.ExecuteTemplate(w, "unsubscribe.html", v)
}

// DocumentedPages are the routes outside the JSON route table that notify.yaml documents.
var DocumentedPages = []string{"GET " + app.UnsubscribePath, "POST " + app.UnsubscribePath}
