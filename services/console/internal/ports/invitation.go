package ports

// The invitation page: where an invitee lands after following the mailed link (membership
// signed them in on the way), reads who invited them to what and, for a CoP membership, the
// CoP's Code of Practice, and accepts or declines. The page reads the invitation from
// membership with the person's own token, and its forms post to membership
// (/auth/invitations/{id}/accept and /decline), which answers with a redirect back here; the
// console decides nothing.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// memberInvitation is membership's answer to GET /v1/invitations/{id}.
type memberInvitation struct {
	ID                    string      `json:"id"`
	Email                 string      `json:"email"`
	Grant                 httpx.Grant `json:"grant"`
	Status                string      `json:"status"`
	InvitedByName         string      `json:"invited_by_name"`
	ExpiresAt             time.Time   `json:"expires_at"`
	CodeOfPracticeVersion int         `json:"code_of_practice_version"`
	IsInvitee             bool        `json:"is_invitee"`
}

// invitationView is the invitation page's own data.
type invitationView struct {
	ID     string
	Status string
	Email  string
	// Yours is true when the caller is the invitee; the inviter (or national) sees the
	// invitation without the forms only the invitee may answer.
	Yours     bool
	InvitedBy string
	// What says the grant in words, with the names the console knows.
	What      string
	ExpiresAt time.Time
	// Member is a CoP membership: accepting means accepting the Code of Practice.
	Member      bool
	CodeVersion int
	// Code is the Code of Practice's text in paragraphs, when the registry gave it.
	Code []string
	// Next is where the accepted grant is used; NextLabel says so.
	Next, NextLabel string
}

// invitationPageData is what the invitation template shows.
type invitationPageData struct {
	pageData
	Invitation *invitationView
}

// invitationMessages words the codes membership's accept and decline forms send the browser
// back with.
var invitationMessages = map[string]string{
	"consent":   "To join, tick “I accept the Code of Practice”: joining a CoP means accepting it.",
	"version":   "The CoP has published a new Code of Practice since this page was shown. Read the current one below; accepting it is what joining means.",
	"closed":    "This invitation can no longer be answered: it was accepted or declined already, or it has expired.",
	"not-yours": "This invitation was sent to another e-mail address. Sign out, then open the link in the invitation mail.",
}

func (w *Web) invitationPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	var inv memberInvitation
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/invitations/"+url.PathEscape(id), nil, &inv)
	switch {
	case err != nil:
		w.log.ErrorContext(r.Context(), "read an invitation from membership", "error", err)
		w.pageError(rw, r, c, err)
		return
	case status == http.StatusForbidden:
		w.pageError(rw, r, c, apperr.Forbidden("%s", invitationMessages["not-yours"]))
		return
	case status == http.StatusNotFound:
		w.pageError(rw, r, c, apperr.NotFound("there is no such invitation: check that you opened the whole link from the mail"))
		return
	case status >= 300:
		w.pageError(rw, r, c, fmt.Errorf("membership answered %d: %s", status, detail))
		return
	}
	v := w.describeInvitation(r, c, &inv)
	w.pages.render(rw, r, http.StatusOK, "invitation", invitationPageData{
		pageData: pageData{Title: map[bool]string{true: "Your invitation", false: "Invitation"}[v.Yours], Caller: c.claims, CSRF: httpx.CSRFToken(rw, r),
			Error: invitationMessages[r.URL.Query().Get("error")]},
		Invitation: v})
}

// describeInvitation words an invitation with the names the console's projection holds
// and, for a CoP membership, the Code of Practice the registry publishes.
func (w *Web) describeInvitation(r *http.Request, c caller, inv *memberInvitation) *invitationView {
	v := &invitationView{ID: inv.ID, Status: inv.Status, Email: inv.Email, ExpiresAt: inv.ExpiresAt, Yours: inv.IsInvitee,
		InvitedBy: inv.InvitedByName, CodeVersion: inv.CodeOfPracticeVersion}
	if v.InvitedBy == "" {
		v.InvitedBy = "The copnet team"
	}
	ctx := r.Context()
	region, cop := inv.Grant.Region, inv.Grant.CoP
	if region != "" {
		if d, err := w.store.Region(ctx, region); err == nil && d.Name != "" {
			region = d.Name + " (" + inv.Grant.Region + ")"
		}
	}
	if cop != "" {
		if d, err := w.store.CoP(ctx, cop); err == nil && d.Name != "" {
			cop = d.Name
		}
	}
	switch inv.Grant.Role {
	case httpx.RoleNational:
		v.What, v.Next, v.NextLabel = "a member of the national secretariat", "/", "Go to the national network"
	case httpx.RoleHub:
		v.What = "hub officer of the region " + region
		v.Next, v.NextLabel = "/regions/"+url.PathEscape(inv.Grant.Region), "Go to your region"
	case httpx.RoleCoordinator:
		v.What = "coordinator of " + cop
		v.Next, v.NextLabel = "/cops/"+url.PathEscape(inv.Grant.CoP), "Go to your CoP"
	case httpx.RoleWorkingGroup:
		v.What, v.Next, v.NextLabel = "a member of the working group of "+cop, "/account", "See your account"
	case httpx.RoleMember:
		v.What, v.Next, v.NextLabel = "a member of "+cop, "/account", "See your account"
		v.Member = true
	default:
		v.What, v.Next, v.NextLabel = string(inv.Grant.Role), "/account", "See your account"
	}
	if v.Yours && v.Member && v.Status == "open" && v.CodeVersion > 0 {
		var ch struct {
			CodeOfPractice string `json:"code_of_practice"`
		}
		path := fmt.Sprintf("/v1/cops/%s/charter?version=%d", url.PathEscape(inv.Grant.CoP), v.CodeVersion)
		if status, _, err := w.callAPI(r, c.token, http.MethodGet, path, nil, &ch); err == nil && status == http.StatusOK {
			v.Code = paragraphs(ch.CodeOfPractice)
		}
	}
	return v
}

// paragraphs splits text at blank lines, for a template to show each as a paragraph.
func paragraphs(text string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
