package ports

// A CoP's people: the roster its coordinator (and hub, national) runs — members with their
// roles and the Code of Practice version each accepted, open invitations, inviting by
// e-mail or by a CSV roster, giving and taking the working-group role, and the switch for
// online registration (/cops/{id}/roster); the directory its members read (names and
// organisations of individuals, /cops/{id}/directory); and online registration, where a
// signed-in person reads the Code of Practice and joins (/cops/{id}/join). Membership holds
// all of it and decides; the console carries the person's token and the forms.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// rosterRoutes are the roster's, the directory's and registration's routes.
func (w *Web) rosterRoutes() []Route {
	return []Route{
		{"GET", "/cops/{id}/roster", w.rosterPage},
		{"POST", "/cops/{id}/roster/invitations", w.inviteMembers},
		{"POST", "/cops/{id}/roster/import", w.importRoster},
		{"POST", "/cops/{id}/roster/members/{person}/roles", w.changeRoles},
		{"POST", "/cops/{id}/roster/registration", w.setRegistration},
		{"GET", "/cops/{id}/directory", w.directoryPage},
		{"GET", "/cops/{id}/join", w.joinCoPPage},
		{"POST", "/cops/{id}/join", w.joinCoP},
	}
}

// rosterMember is a member as membership lists them for those who run the CoP.
type rosterMember struct {
	PersonID              string    `json:"person_id"`
	Name                  string    `json:"name"`
	Roles                 []string  `json:"roles"`
	CodeOfPracticeVersion int       `json:"code_of_practice_version"`
	JoinedAt              time.Time `json:"joined_at"`
}

// WorkingGroup and Coordinator say which roles the member holds.
func (m rosterMember) WorkingGroup() bool { return slices.Contains(m.Roles, "working_group") }
func (m rosterMember) Coordinator() bool  { return slices.Contains(m.Roles, "coordinator") }

// openInvitation is an invitation not yet answered.
type openInvitation struct {
	Email         string      `json:"email"`
	Grant         httpx.Grant `json:"grant"`
	InvitedByName string      `json:"invited_by_name"`
	CreatedAt     time.Time   `json:"created_at"`
	ExpiresAt     time.Time   `json:"expires_at"`
}

// registration is whether the CoP takes online registrations.
type registration struct {
	Open                  bool `json:"open"`
	CodeOfPracticeVersion int  `json:"code_of_practice_version"`
}

// rosterPageData is what the roster shows.
type rosterPageData struct {
	pageData
	CoPID, CoPName string
	Members        []rosterMember
	// NotAccepted are the members who have not accepted the Code of Practice in force.
	NotAccepted  []rosterMember
	Invitations  []openInvitation
	Registration registration
	// Emails is what was typed in the invite box, kept when refused.
	Emails string
	Fields map[string]string
}

func (w *Web) rosterPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderRoster(rw, r, c, r.PathValue("id"), http.StatusOK, "", nil)
}

// rosterNotice words what a roster form did, from the redirect's query.
func rosterNotice(q url.Values) string {
	switch q.Get("notice") {
	case "invited":
		return fmt.Sprintf("Invitations sent: %s. Already invited: %s. Already members: %s.", orZero(q.Get("invited")), orZero(q.Get("already_invited")), orZero(q.Get("already_members")))
	case "roles":
		return "The member's roles are changed."
	case "registration-open":
		return "Online registration is open: signed-in people can join from the CoP's join page by accepting the Code of Practice."
	case "registration-closed":
		return "Online registration is closed: people join by invitation."
	}
	return ""
}

func orZero(s string) string {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return "0"
	}
	return s
}

// renderRoster shows the roster; emails and refused carry a refused invitation back.
func (w *Web) renderRoster(rw http.ResponseWriter, r *http.Request, c caller, id string, status int, emails string, refused error) {
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	base := "/v1/cops/" + url.PathEscape(id)
	var members struct {
		Members []rosterMember `json:"members"`
	}
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, base+"/members", nil, &members)
	if err == nil && st >= 300 {
		err = problemOf(st, detail)
	}
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d := rosterPageData{pageData: pageData{Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Notice: rosterNotice(r.URL.Query())},
		CoPID: id, CoPName: w.copName(r, id), Members: members.Members, Emails: emails}
	d.Title = "Roster of " + d.CoPName
	var invs struct {
		Invitations []openInvitation `json:"invitations"`
	}
	if st, _, err := w.callAPI(r, c.token, http.MethodGet, base+"/invitations", nil, &invs); err == nil && st == http.StatusOK {
		d.Invitations = invs.Invitations
	}
	if st, _, err := w.callAPI(r, c.token, http.MethodGet, base+"/registration", nil, &d.Registration); err != nil || st != http.StatusOK {
		d.Registration = registration{}
	}
	for _, m := range d.Members {
		if m.CodeOfPracticeVersion < d.Registration.CodeOfPracticeVersion {
			d.NotAccepted = append(d.NotAccepted, m)
		}
	}
	d.Fields, d.Error = refusal(refused)
	w.pages.render(rw, r, status, "roster", d)
}

// inviteMembers invites every address of the invite box to become a member. The addresses
// are all checked first; then each is invited. One already invited or already a member is
// counted, not refused; any other refusal stops there and says which addresses were sent.
func (w *Web) inviteMembers(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	c, ok := w.formCaller(rw, r, "sign in to invite members")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	typed := r.PostFormValue("emails")
	addrs, err := parseAddresses(typed)
	if err != nil {
		w.renderRoster(rw, r, c, id, http.StatusBadRequest, typed, err)
		return
	}
	var invited, already []string
	for _, p := range addrs {
		a := p.Email
		body, _ := json.Marshal(map[string]any{"email": a, "name": p.Name, "grant": httpx.Grant{Role: httpx.RoleMember, CoP: id}})
		status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/invitations", body, nil)
		switch {
		case err != nil:
			w.log.ErrorContext(r.Context(), "invite a member", "cop", id, "error", err)
			w.renderRoster(rw, r, c, id, http.StatusBadGateway, typed, pageMessage(fmt.Sprintf("Membership could not be reached after %d invitations were sent (%s); try the rest again in a moment", len(invited), strings.Join(invited, ", "))))
			return
		case status == http.StatusConflict:
			already = append(already, a)
		case status >= 300:
			sent := ""
			if len(invited) > 0 {
				sent = " Sent before it: " + strings.Join(invited, ", ") + "."
			}
			w.renderRoster(rw, r, c, id, status, typed, pageMessage(fmt.Sprintf("Membership refused to invite %s: %s.%s", a, detail, sent)))
			return
		default:
			invited = append(invited, a)
		}
	}
	q := url.Values{"notice": {"invited"}, "invited": {fmt.Sprint(len(invited))}, "already_invited": {fmt.Sprint(len(already))}}
	http.Redirect(rw, r, "/cops/"+url.PathEscape(id)+"/roster?"+q.Encode()+"#invitations", http.StatusSeeOther)
}

// importRoster forwards an uploaded CSV roster to membership, which invites every row
// who is not a member yet, or nobody when a row is bad.
func (w *Web) importRoster(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxRoster+64<<10)
	c, ok := w.formCaller(rw, r, "sign in to import a roster")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	raw, err := readRosterFile(r.FormFile("roster"))
	if err != nil {
		w.renderRoster(rw, r, c, id, http.StatusBadRequest, "", err)
		return
	}
	var res struct {
		Invited        int `json:"invited"`
		AlreadyInvited int `json:"already_invited"`
		AlreadyMembers int `json:"already_members"`
	}
	status, detail, err := w.sendCSV(r, c.token, "/v1/cops/"+url.PathEscape(id)+"/members:import", raw, &res)
	if err != nil {
		w.log.ErrorContext(r.Context(), "import a roster", "cop", id, "error", err)
		w.renderRoster(rw, r, c, id, http.StatusBadGateway, "", pageMessage("Membership could not be reached; nobody was invited. Try again in a moment"))
		return
	}
	if status >= 300 {
		w.renderRoster(rw, r, c, id, status, "", apperr.Invalid("roster", "Nobody was invited: "+detail))
		return
	}
	q := url.Values{"notice": {"invited"}, "invited": {fmt.Sprint(res.Invited)}, "already_invited": {fmt.Sprint(res.AlreadyInvited)},
		"already_members": {fmt.Sprint(res.AlreadyMembers)}}
	http.Redirect(rw, r, "/cops/"+url.PathEscape(id)+"/roster?"+q.Encode()+"#invitations", http.StatusSeeOther)
}

// sendCSV posts a CSV body to the services' API with the person's token (callAPI sends
// JSON only).
func (w *Web) sendCSV(r *http.Request, token, path string, body []byte, dst any) (int, string, error) {
	base, err := w.apiBase(r)
	if err != nil {
		return 0, "", err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "text/csv; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(httpx.CorrelationHeader, httpx.CorrelationID(r.Context()))
	req.Header.Set(httpx.ForwardedFor, httpx.ClientKey(r))
	res, err := w.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return 0, "", err
	}
	if res.StatusCode < 300 {
		return res.StatusCode, "", json.Unmarshal(raw, dst)
	}
	var p httpx.Problem
	_ = json.Unmarshal(raw, &p)
	detail := p.Detail
	for _, f := range p.Errors {
		detail += fmt.Sprintf(" (%s %s)", f.Field, f.Message)
	}
	if detail == "" {
		detail = http.StatusText(res.StatusCode)
	}
	return res.StatusCode, detail, nil
}

// changeRoles gives or takes the working-group role; the coordinator role is appointed by
// consent (the CoP home's appointments), so it is kept as it is.
func (w *Web) changeRoles(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	c, ok := w.formCaller(rw, r, "sign in to change roles")
	if !ok {
		return
	}
	id, person := r.PathValue("id"), r.PathValue("person")
	err := checkID("id", id)
	if err == nil {
		err = checkID("person", person)
	}
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	wg, err := parseRolesForm(r.PostFormValue)
	if err != nil {
		w.renderRoster(rw, r, c, id, http.StatusBadRequest, "", err)
		return
	}
	roles := []string{}
	if r.PostFormValue("coordinator") == "yes" {
		roles = append(roles, "coordinator")
	}
	if wg {
		roles = append(roles, "working_group")
	}
	body, _ := json.Marshal(map[string][]string{"roles": roles})
	status, detail, err := w.callAPI(r, c.token, http.MethodPut, "/v1/cops/"+url.PathEscape(id)+"/members/"+url.PathEscape(person)+"/roles", body, nil)
	if err == nil && status >= 300 {
		err = pageMessage(fmt.Sprintf("Membership refused: %s", detail))
	}
	if err != nil {
		w.renderRoster(rw, r, c, id, failed(status), "", err)
		return
	}
	http.Redirect(rw, r, "/cops/"+url.PathEscape(id)+"/roster?notice=roles#members", http.StatusSeeOther)
}

// failed is the status a page shows for a call that failed: the service's refusal, or 502
// when it could not be reached.
func failed(status int) int {
	if status == 0 {
		return http.StatusBadGateway
	}
	return status
}

// setRegistration opens or closes the CoP's online registration.
func (w *Web) setRegistration(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	c, ok := w.formCaller(rw, r, "sign in to change how people join")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	open := r.PostFormValue("open") == "yes"
	body, _ := json.Marshal(map[string]bool{"open": open})
	status, detail, err := w.callAPI(r, c.token, http.MethodPut, "/v1/cops/"+url.PathEscape(id)+"/registration", body, nil)
	if err == nil && status >= 300 {
		err = pageMessage(fmt.Sprintf("Membership refused: %s", detail))
	}
	if err != nil {
		w.renderRoster(rw, r, c, id, failed(status), "", err)
		return
	}
	notice := map[bool]string{true: "registration-open", false: "registration-closed"}[open]
	http.Redirect(rw, r, "/cops/"+url.PathEscape(id)+"/roster?notice="+notice+"#registration", http.StatusSeeOther)
}

// directoryEntry is one member in the directory.
type directoryEntry struct {
	Name         string `json:"name"`
	Organisation string `json:"organisation"`
}

// directoryPageData is what the directory shows.
type directoryPageData struct {
	pageData
	CoPID, CoPName string
	Members        []directoryEntry
}

func (w *Web) directoryPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	var out struct {
		Members []directoryEntry `json:"members"`
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(id)+"/directory", nil, &out)
	if err == nil && status >= 300 {
		err = problemOf(status, detail)
	}
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d := directoryPageData{pageData: pageData{Caller: c.claims, CSRF: httpx.CSRFToken(rw, r)}, CoPID: id, CoPName: w.copName(r, id), Members: out.Members}
	d.Title = "Members of " + d.CoPName
	w.pages.render(rw, r, http.StatusOK, "directory", d)
}

// joinPageData is what the online registration page shows.
type joinPageData struct {
	pageData
	CoPID, CoPName string
	Registration   registration
	Code           []string
	// Member says the caller is a member already.
	Member bool
	Fields map[string]string
}

func (w *Web) joinCoPPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderJoin(rw, r, c, r.PathValue("id"), http.StatusOK, nil)
}

func (w *Web) renderJoin(rw http.ResponseWriter, r *http.Request, c caller, id string, status int, refused error) {
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d := joinPageData{pageData: pageData{Caller: c.claims, CSRF: httpx.CSRFToken(rw, r)}, CoPID: id, CoPName: w.copName(r, id)}
	d.Title = "Join " + d.CoPName
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(id)+"/registration", nil, &d.Registration)
	if err == nil && st >= 300 {
		err = problemOf(st, detail)
	}
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	for _, m := range w.myMemberships(r, c) {
		d.Member = d.Member || m.CoPID == id
	}
	if d.Registration.Open && !d.Member && d.Registration.CodeOfPracticeVersion > 0 {
		var ch struct {
			CodeOfPractice string `json:"code_of_practice"`
		}
		path := fmt.Sprintf("/v1/cops/%s/charter?version=%d", url.PathEscape(id), d.Registration.CodeOfPracticeVersion)
		if st, _, err := w.callAPI(r, c.token, http.MethodGet, path, nil, &ch); err == nil && st == http.StatusOK {
			d.Code = paragraphs(ch.CodeOfPractice)
		}
	}
	d.Fields, d.Error = refusal(refused)
	w.pages.render(rw, r, status, "copjoin", d)
}

// joinCoP joins the signed-in person to the CoP, accepting the Code of Practice shown.
func (w *Web) joinCoP(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	c, ok := w.formCaller(rw, r, "sign in to join a CoP")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	form, err := parseAcceptForm(r.PostFormValue)
	if err != nil {
		w.renderJoin(rw, r, c, id, http.StatusBadRequest, err)
		return
	}
	body, _ := json.Marshal(map[string]any{"person_id": c.claims.Subject, "code_of_practice_version": form.Version})
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/cops/"+url.PathEscape(id)+"/members", body, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "join a CoP", "cop", id, "error", err)
		w.renderJoin(rw, r, c, id, http.StatusBadGateway, pageMessage("Membership could not be reached; you have not joined yet. Try again in a moment"))
		return
	}
	if status >= 300 {
		w.renderJoin(rw, r, c, id, status, pageMessage(fmt.Sprintf("Membership refused: %s", detail)))
		return
	}
	// The member grant is in the next access token: refresh the session on the way to
	// the directory, which reads membership itself meanwhile.
	http.Redirect(rw, r, "/cops/"+url.PathEscape(id)+"/directory", http.StatusSeeOther)
}
