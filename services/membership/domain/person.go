package domain

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// Limits on what a person's record may hold.
const (
	MaxName         = 200
	MaxEmail        = 254
	MaxOrganisation = 200
	MaxRosterRows   = 5000
)

// Person is an individual. Membership is for individuals only: the organisation someone
// works for is context, never a member and never represented.
type Person struct {
	Name         string
	Email        string
	Organisation string
}

// Normalise trims the fields; e-mail comparisons ignore case, but the address is kept as
// given.
func (p Person) Normalise() Person {
	return Person{Name: strings.TrimSpace(p.Name), Email: strings.TrimSpace(p.Email), Organisation: strings.TrimSpace(p.Organisation)}
}

// Problems lists what is wrong with p, field by field (prefix names the row in a roster).
func (p Person) Problems(prefix string) []apperr.FieldError {
	var out []apperr.FieldError
	add := func(field, msg string) { out = append(out, apperr.FieldError{Field: prefix + field, Message: msg}) }
	if p.Name == "" || len(p.Name) > MaxName || !printable(p.Name) {
		add("name", fmt.Sprintf("is required (at most %d characters, no control characters)", MaxName))
	}
	if !ValidEmail(p.Email) {
		add("email", "must be one e-mail address, like name@example.org")
	}
	if len(p.Organisation) > MaxOrganisation || !printable(p.Organisation) {
		add("organisation", fmt.Sprintf("is at most %d characters, no control characters", MaxOrganisation))
	}
	return out
}

// printable refuses what PostgreSQL cannot store (NUL, invalid UTF-8) and control
// characters, which a CSV upload may carry and no name needs.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// ValidEmail accepts a bare address (no display name), which is what people type, and
// only one mail can be delivered to: at most 254 characters, no white space, and a domain
// of at least two non-empty labels ("a@b" parses as an address but no mail reaches it).
func ValidEmail(s string) bool {
	if s == "" || len(s) > MaxEmail || !printable(s) || strings.ContainsFunc(s, unicode.IsSpace) {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, "[") {
		return false
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
	}
	return true
}

// RosterRow is one person of a bulk import and the line it came from.
type RosterRow struct {
	Line int
	Person
}

// ParseRoster reads a CSV roster (name, email, organisation; an optional header line) and
// checks every row before anything is imported: the error lists every bad row by line, so
// a hub fixes the file in one pass.
func ParseRoster(r io.Reader) ([]RosterRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var rows []RosterRow
	var problems []apperr.FieldError
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				problems = append(problems, apperr.FieldError{Field: fmt.Sprintf("line %d", pe.Line), Message: "is not valid CSV: " + pe.Err.Error()})
				break // the reader cannot resynchronise after a broken quote
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rows) == 0 && len(problems) == 0 && isHeader(rec) {
			continue
		}
		prefix := fmt.Sprintf("line %d: ", line)
		if len(rec) < 2 || len(rec) > 3 {
			problems = append(problems, apperr.FieldError{Field: fmt.Sprintf("line %d", line), Message: fmt.Sprintf("has %d columns; want name, email and optionally organisation", len(rec))})
			continue
		}
		p := Person{Name: rec[0], Email: rec[1]}
		if len(rec) == 3 {
			p.Organisation = rec[2]
		}
		p = p.Normalise()
		bad := p.Problems(prefix)
		key := strings.ToLower(p.Email)
		if first, dup := seen[key]; dup && len(bad) == 0 {
			bad = append(bad, apperr.FieldError{Field: prefix + "email", Message: fmt.Sprintf("repeats line %d", first)})
		}
		if len(bad) > 0 {
			problems = append(problems, bad...)
			continue
		}
		seen[key] = line
		rows = append(rows, RosterRow{Line: line, Person: p})
	}
	if len(rows)+len(problems) > MaxRosterRows {
		return nil, apperr.Unprocessable("body", fmt.Sprintf("has more than %d rows; split the file", MaxRosterRows))
	}
	if len(problems) > 0 {
		e := apperr.InvalidFields(problems...)
		e.Kind = apperr.KindUnprocessable
		e.Detail = fmt.Sprintf("%d problem(s) in the roster; nothing was imported: %s", len(problems), e.Detail)
		return nil, e
	}
	if len(rows) == 0 {
		return nil, apperr.Unprocessable("body", "has no rows (name, email, organisation)")
	}
	return rows, nil
}

func isHeader(rec []string) bool {
	return len(rec) >= 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "name") && strings.EqualFold(strings.TrimSpace(rec[1]), "email")
}
