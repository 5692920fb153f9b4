package ports

// The governance forms of a CoP: proposing a removal, voting on it, proposing a
// coordinator, objecting. Each parser names the field it refuses, so that the page can say
// which and keep what the person typed.

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// personForm is a person chosen from the CoP's roster, with the reason given (a removal's).
type personForm struct {
	PersonID string
	Reason   string
}

// parseReason reads a required reason of at most maxReason characters of text (membership
// keeps as many).
func parseReason(form url.Values) (string, *apperr.FieldError) {
	reason := strings.TrimSpace(form.Get("reason"))
	switch {
	case reason == "":
		return "", &apperr.FieldError{Field: "reason", Message: "say why, in a sentence or two"}
	case !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > maxReason:
		return reason, &apperr.FieldError{Field: "reason", Message: "is at most 2000 characters of text"}
	case strings.ContainsFunc(reason, func(r rune) bool { return isControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return reason, &apperr.FieldError{Field: "reason", Message: "contains characters that are not text"}
	}
	return reason, nil
}

// parsePerson reads the chosen person's id.
func parsePerson(form url.Values) (string, *apperr.FieldError) {
	id := strings.TrimSpace(form.Get("person_id"))
	if id == "" {
		return "", &apperr.FieldError{Field: "person_id", Message: "choose a member"}
	}
	if checkID("person_id", id) != nil {
		return "", &apperr.FieldError{Field: "person_id", Message: "is not a member of this CoP"}
	}
	return id, nil
}

// parseRemovalForm reads "propose removing a member": who, and why.
func parseRemovalForm(form url.Values) (personForm, error) {
	var f personForm
	var fields []apperr.FieldError
	var bad *apperr.FieldError
	if f.PersonID, bad = parsePerson(form); bad != nil {
		fields = append(fields, *bad)
	}
	if f.Reason, bad = parseReason(form); bad != nil {
		fields = append(fields, *bad)
	}
	if len(fields) > 0 {
		return f, apperr.InvalidFields(fields...)
	}
	return f, nil
}

// parseAppointmentForm reads "propose a coordinator": who.
func parseAppointmentForm(form url.Values) (personForm, error) {
	id, bad := parsePerson(form)
	if bad != nil {
		return personForm{}, apperr.InvalidFields(*bad)
	}
	return personForm{PersonID: id}, nil
}

// parseObjectionForm reads an objection: why.
func parseObjectionForm(form url.Values) (string, error) {
	reason, bad := parseReason(form)
	if bad != nil {
		return reason, apperr.InvalidFields(*bad)
	}
	return reason, nil
}

// parseVoteForm reads a vote: "remove" supports the removal, "keep" opposes it.
func parseVoteForm(form url.Values) (bool, error) {
	switch form.Get("vote") {
	case "remove":
		return true, nil
	case "keep":
		return false, nil
	}
	return false, apperr.Invalid("vote", "choose to remove the member or to keep them")
}
