package ports

// The notification settings page: how often a person hears about each kind of notice
// (immediately, in a daily or weekly digest, or not at all). The page reads and writes the
// settings through notify's API with the person's own token; the console decides nothing.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// notificationPreference is one row of notify's GET /v1/me/notifications.
type notificationPreference struct {
	Kind    string `json:"kind"`
	Title   string `json:"title"`
	Cadence string `json:"cadence"`
}

// cadenceChoices are the cadences offered, in order, with their labels.
var cadenceChoices = []struct{ Value, Label string }{
	{"immediately", "At once"}, {"daily", "Daily digest"}, {"weekly", "Weekly digest"}, {"off", "Never"},
}

// notificationsPageData is what the notifications template shows.
type notificationsPageData struct {
	pageData
	Preferences []notificationPreference
	Choices     []struct{ Value, Label string }
}

func (w *Web) notificationsPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	notice := ""
	if r.URL.Query().Get("saved") == "1" {
		notice = "Your notification settings are saved."
	}
	w.renderNotifications(rw, r, c, http.StatusOK, notice, "")
}

func (w *Web) renderNotifications(rw http.ResponseWriter, r *http.Request, c caller, status int, notice, problem string) {
	var got struct {
		Preferences []notificationPreference `json:"preferences"`
	}
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/me/notifications", nil, &got)
	if err != nil || st != http.StatusOK {
		// A 500 page with the correlation id: notify is not reachable or refused the read.
		w.pageError(rw, r, c, fmt.Errorf("read notification settings: status %d %s: %v", st, detail, err))
		return
	}
	w.pages.render(rw, r, status, "notifications", notificationsPageData{
		pageData:    pageData{Title: "Notifications", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Notice: notice, Error: problem},
		Preferences: got.Preferences,
		Choices:     cadenceChoices,
	})
}

func (w *Web) saveNotifications(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to change your notification settings")
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		httpx.WriteProblem(rw, r, apperr.Invalid("form", "could not be read"))
		return
	}
	prefs, err := parseNotificationForm(r.PostForm)
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	body, _ := json.Marshal(map[string]any{"preferences": prefs})
	status, detail, err := w.callAPI(r, c.token, http.MethodPut, "/v1/me/notifications", body, nil)
	switch {
	case err != nil:
		w.log.ErrorContext(r.Context(), "save notification settings", "error", err)
		w.renderNotifications(rw, r, c, http.StatusBadGateway, "", "Your settings could not be saved; nothing changed. Try again in a moment.")
	case status == http.StatusOK:
		http.Redirect(rw, r, "/notifications?saved=1", http.StatusSeeOther)
	default:
		w.renderNotifications(rw, r, c, status, "", "Your settings were not saved: "+detail)
	}
}

// parseNotificationForm reads the form's pref-<kind> fields: each value must be one of the
// cadences offered, each kind a plain name (notify checks that it knows it).
func parseNotificationForm(form url.Values) (map[string]string, error) {
	out := map[string]string{}
	var fields []apperr.FieldError
	for key, values := range form {
		kind, ok := strings.CutPrefix(key, "pref-")
		if !ok {
			continue
		}
		if kind == "" || len(kind) > 40 || strings.Trim(kind, "abcdefghijklmnopqrstuvwxyz_") != "" {
			fields = append(fields, apperr.FieldError{Field: key, Message: "is not a kind of notice"})
			continue
		}
		if len(values) != 1 || !validCadence(values[0]) {
			fields = append(fields, apperr.FieldError{Field: key, Message: "must be one of immediately, daily, weekly, off"})
			continue
		}
		out[kind] = values[0]
	}
	if len(fields) > 0 {
		return nil, apperr.InvalidFields(fields...)
	}
	if len(out) == 0 {
		return nil, apperr.Invalid("form", "names no kind of notice")
	}
	return out, nil
}

func validCadence(v string) bool {
	for _, c := range cadenceChoices {
		if c.Value == v {
			return true
		}
	}
	return false
}
