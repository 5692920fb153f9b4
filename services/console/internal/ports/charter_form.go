package ports

// The forms of the charter, roster and registration pages, read and checked before
// anything is sent to the services, so that a bad field is named on the page and what the
// person typed is kept.

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// maxCharterText is the registry's limit on each part of a charter.
const maxCharterText = 50_000

// charterForm is a new charter version as the editor posts it.
type charterForm struct {
	Aims, TermsOfReference, CodeOfPractice string
}

// parseCharterForm reads the charter editor's three texts: each is required, valid UTF-8
// without control characters other than line breaks and tabs, at most 50000 characters.
func parseCharterForm(get func(string) string) (charterForm, error) {
	f := charterForm{Aims: get("aims"), TermsOfReference: get("terms_of_reference"), CodeOfPractice: get("code_of_practice")}
	var fields []apperr.FieldError
	for _, p := range []struct{ field, label, text string }{
		{"aims", "Aims", f.Aims}, {"terms_of_reference", "Terms of Reference", f.TermsOfReference}, {"code_of_practice", "Code of Practice", f.CodeOfPractice},
	} {
		if msg := checkText(p.text, maxCharterText, true); msg != "" {
			fields = append(fields, apperr.FieldError{Field: p.field, Message: p.label + " " + msg})
		}
	}
	if len(fields) > 0 {
		return f, apperr.InvalidFields(fields...)
	}
	return f, nil
}

// checkText says what is wrong with a text field, "" when nothing is.
func checkText(s string, limit int, required bool) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.ContainsFunc(s, func(r rune) bool { return isControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return "contains a control character"
	case utf8.RuneCountInString(s) > limit:
		return fmt.Sprintf("is longer than %d characters", limit)
	case required && strings.TrimSpace(s) == "":
		return "is required"
	}
	return ""
}

// acceptForm is a member's acceptance of a Code of Practice version (also a join).
type acceptForm struct {
	Version int
	Consent bool
}

// parseAcceptForm reads the version shown and the "I accept" box.
func parseAcceptForm(get func(string) string) (acceptForm, error) {
	var fields []apperr.FieldError
	v, err := strconv.Atoi(get("code_of_practice_version"))
	if err != nil || v < 1 || v > 1_000_000 {
		fields = append(fields, apperr.FieldError{Field: "code_of_practice_version", Message: "must be the version number shown on the page"})
	}
	f := acceptForm{Version: v, Consent: get("accept_code_of_practice") == "yes"}
	if !f.Consent {
		fields = append(fields, apperr.FieldError{Field: "accept_code_of_practice", Message: "tick “I accept the Code of Practice” to accept it"})
	}
	if len(fields) > 0 {
		return f, apperr.InvalidFields(fields...)
	}
	return f, nil
}

// maxInvitees bounds one invitation form: a CoP's founding roster fits; more is a CSV.
const maxInvitees = 200

// invitee is one person of the invite box: an address, and the name given with it.
type invitee struct {
	Name, Email string
}

// parseAddresses reads the invite box: e-mail addresses one per line, or separated by
// commas, semicolons or spaces, as people paste them from a mail client ("Name
// <a@b.org>" too, which names the invitee). Duplicates (ignoring case) count once. Every
// bad address is named.
func parseAddresses(text string) ([]invitee, error) {
	if msg := checkText(text, 20_000, true); msg != "" {
		return nil, apperr.Invalid("emails", "The addresses box "+msg)
	}
	seen := map[string]bool{}
	var out []invitee
	var bad []string
	for _, item := range splitAddresses(text) {
		a, err := mail.ParseAddress(item)
		if err != nil || !strings.Contains(a.Address, "@") || strings.ContainsAny(a.Address, " <>") || len(a.Address) > 254 || len(a.Name) > 200 {
			bad = append(bad, item)
			continue
		}
		addr := strings.ToLower(a.Address)
		if !seen[addr] {
			seen[addr] = true
			out = append(out, invitee{Name: strings.TrimSpace(a.Name), Email: addr})
		}
	}
	switch {
	case len(bad) > 0:
		return out, apperr.Invalid("emails", "These are not e-mail addresses: "+strings.Join(bad, ", "))
	case len(out) == 0:
		return out, apperr.Invalid("emails", "Give at least one e-mail address")
	case len(out) > maxInvitees:
		return out, apperr.Invalid("emails", fmt.Sprintf("At most %d addresses at once: upload a CSV file for more", maxInvitees))
	}
	return out, nil
}

// splitAddresses splits a pasted list at line breaks, commas and semicolons, and at
// spaces between bare addresses (but not inside "Name <address>").
func splitAddresses(text string) []string {
	var out []string
	for _, chunk := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' }) {
		chunk = strings.TrimSpace(chunk)
		if chunk == "" {
			continue
		}
		if strings.Contains(chunk, "<") {
			out = append(out, chunk)
			continue
		}
		out = append(out, strings.Fields(chunk)...)
	}
	return out
}

// maxRoster bounds an uploaded roster file.
const maxRoster = 1 << 20

// readRosterFile reads the uploaded CSV roster whole: it must be there, at most 1 MB, and
// text (UTF-8); its rows are membership's to check.
func readRosterFile(file multipart.File, _ *multipart.FileHeader, err error) ([]byte, error) {
	if err != nil {
		return nil, apperr.Invalid("roster", "Choose a CSV file to upload")
	}
	defer file.Close()
	raw, err := io.ReadAll(io.LimitReader(file, maxRoster+1))
	switch {
	case err != nil:
		return nil, apperr.Invalid("roster", "The file could not be read")
	case len(raw) > maxRoster:
		return nil, apperr.Invalid("roster", "The file is larger than 1 MB")
	case len(strings.TrimSpace(string(raw))) == 0:
		return nil, apperr.Invalid("roster", "The file is empty")
	case !utf8.Valid(raw) || strings.ContainsRune(string(raw), 0):
		return nil, apperr.Invalid("roster", "The file is not a CSV text file (save it from your spreadsheet as CSV UTF-8)")
	}
	return raw, nil
}

// parseRolesForm reads a role change: working group on or off.
func parseRolesForm(get func(string) string) (bool, error) {
	switch get("working_group") {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, apperr.Invalid("working_group", "must be yes or no")
}
