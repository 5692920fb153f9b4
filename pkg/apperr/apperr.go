// Package apperr defines typed application errors shared by copnet services.
//
// Domain code returns an *Error to say what kind of failure happened; the
// transport layer (package httpx) decides how that kind is presented. Keeping
// HTTP out of this package lets the same errors flow through event handlers.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an application error.
type Kind int

// The zero Kind is KindInternal so that an *Error built without a kind is
// treated as a server fault rather than silently blamed on the client.
const (
	// KindInternal is a server fault; its details must not reach clients.
	KindInternal Kind = iota
	// KindInvalid means the input is malformed or fails field validation.
	KindInvalid
	// KindUnauthenticated means the caller's identity is missing or unproven.
	KindUnauthenticated
	// KindForbidden means the caller is known but lacks permission.
	KindForbidden
	// KindNotFound means the addressed resource does not exist.
	KindNotFound
	// KindConflict means the request clashes with the current state.
	KindConflict
	// KindUnprocessable means the input is well-formed but breaks a rule.
	KindUnprocessable
	// KindTooMany means the caller exceeded a rate or quota.
	KindTooMany
	// KindTooLarge means the request payload exceeds a size limit.
	KindTooLarge
)

// String returns a stable, URL-safe name for the kind; it is used in
// problem type URIs, so changing it is a breaking API change.
func (k Kind) String() string {
	switch k {
	case KindInternal:
		return "internal"
	case KindInvalid:
		return "invalid"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindNotFound:
		return "not-found"
	case KindConflict:
		return "conflict"
	case KindUnprocessable:
		return "unprocessable"
	case KindTooMany:
		return "too-many-requests"
	case KindTooLarge:
		return "too-large"
	default:
		return fmt.Sprintf("kind(%d)", int(k))
	}
}

// FieldError describes a problem with one input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an application error with a kind and a client-safe detail.
type Error struct {
	// Kind selects how the error is presented to the caller.
	Kind Kind
	// Detail is a human-readable explanation that is safe to show clients.
	Detail string
	// Fields lists per-field problems, when the error concerns input.
	Fields []FieldError
	// Err is the underlying cause; it is for logs and errors.Is/As, never
	// for clients.
	Err error
}

// Error implements error. It includes the cause so that logs carry it.
func (e *Error) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Kind.String()
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Wrap returns a copy of e with err as its cause, so a constructor result can
// carry the original error without exposing it to clients.
func (e *Error) Wrap(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// Invalid reports a problem with one input field.
func Invalid(field, msg string) *Error {
	return fieldError(KindInvalid, field, msg)
}

// InvalidFields reports problems with several input fields at once, so a
// client can fix all of them in one round trip.
func InvalidFields(fields ...FieldError) *Error {
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		parts = append(parts, describe(f.Field, f.Message))
	}
	detail := "invalid input"
	if len(parts) > 0 {
		detail += ": " + strings.Join(parts, "; ")
	}
	return &Error{Kind: KindInvalid, Detail: detail, Fields: fields}
}

// Unprocessable reports well-formed input that breaks a business rule.
// field may be empty when the rule does not concern a single field.
func Unprocessable(field, msg string) *Error {
	return fieldError(KindUnprocessable, field, msg)
}

// NotFound reports a missing resource.
func NotFound(format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Detail: fmt.Sprintf(format, args...)}
}

// Conflict reports a clash with the current state, such as a duplicate.
func Conflict(format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Detail: fmt.Sprintf(format, args...)}
}

// Forbidden reports that an identified caller lacks permission.
func Forbidden(format string, args ...any) *Error {
	return &Error{Kind: KindForbidden, Detail: fmt.Sprintf(format, args...)}
}

// Unauthenticated reports missing or invalid credentials.
func Unauthenticated(msg string) *Error {
	return &Error{Kind: KindUnauthenticated, Detail: msg}
}

// TooMany reports that the caller exceeded a rate or quota.
func TooMany(msg string) *Error {
	return &Error{Kind: KindTooMany, Detail: msg}
}

// TooLarge reports a payload over a size limit.
func TooLarge(field, msg string) *Error {
	return fieldError(KindTooLarge, field, msg)
}

// KindOf returns the kind of the first *Error in err's chain.
func KindOf(err error) (Kind, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return 0, false
}

func fieldError(k Kind, field, msg string) *Error {
	e := &Error{Kind: k, Detail: describe(field, msg)}
	if field != "" {
		e.Fields = []FieldError{{Field: field, Message: msg}}
	}
	return e
}

func describe(field, msg string) string {
	if field == "" {
		return msg
	}
	return field + " " + msg
}
