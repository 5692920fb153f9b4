package ports

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// maxID bounds the ids the console is asked about: a region or CoP id is a short slug or a
// generated id; anything longer is not one.
const maxID = 200

// checkID validates an id taken from a request's path before it reaches the database:
// PostgreSQL refuses a NUL byte in text (a 500), and an id that is not valid UTF-8 or is
// far too long names nothing the console has.
func checkID(field, id string) error {
	switch {
	case id == "":
		return apperr.Invalid(field, "is required")
	case len(id) > maxID:
		return apperr.Invalid(field, "is longer than 200 bytes")
	case !utf8.ValidString(id):
		return apperr.Invalid(field, "is not valid UTF-8")
	case strings.ContainsFunc(id, isControl):
		return apperr.Invalid(field, "contains a control character")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// maxReason is the longest reason a decline may give; the form says so too.
const maxReason = 2000

// decisionForm is a hub's approve, decline or request for changes, as posted from the
// region page.
type decisionForm struct {
	Decision string
	Reason   string
}

// parseDecision reads and validates the decision form, so that the console forwards to the
// registry only what the form can post: approve, decline or request_changes, and a reason
// the registry can store (whether a decline or a request needs one is the registry's rule).
func parseDecision(r *http.Request) (decisionForm, error) {
	f := decisionForm{Decision: r.PostFormValue("decision"), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	var fields []apperr.FieldError
	if f.Decision != "approve" && f.Decision != "decline" && f.Decision != "request_changes" {
		fields = append(fields, apperr.FieldError{Field: "decision", Message: "must be approve, decline or request_changes"})
	}
	switch {
	case !utf8.ValidString(f.Reason):
		fields = append(fields, apperr.FieldError{Field: "reason", Message: "is not valid UTF-8"})
	case strings.ContainsRune(f.Reason, 0):
		fields = append(fields, apperr.FieldError{Field: "reason", Message: "contains a NUL byte"})
	case utf8.RuneCountInString(f.Reason) > maxReason:
		fields = append(fields, apperr.FieldError{Field: "reason", Message: "is longer than 2000 characters"})
	}
	if len(fields) > 0 {
		return f, apperr.InvalidFields(fields...)
	}
	return f, nil
}
