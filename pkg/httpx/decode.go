package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"reflect"
	"strings"

	"github.com/copnet/copnet/pkg/apperr"
)

// DecodeJSON decodes exactly one JSON value from the request body into dst.
//
// It is strict so that client mistakes surface as 400s naming the offending
// field instead of being silently ignored: unknown fields, trailing data,
// an empty body and a non-JSON Content-Type are all rejected. A body over the
// limit set by NewHandler yields a KindTooLarge error. Errors that are not
// the client's fault (such as dst not being a pointer) are returned as plain
// errors so WriteProblem treats them as internal.
//
// A string holding a NUL character (\u0000), as a value or a key, is rejected with
// the JSON path of where it is (such as "meeting.format[1]"): PostgreSQL cannot store
// it in text or jsonb, so it would otherwise fail later as a server error.
func DecodeJSON(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return apperr.Invalid("Content-Type", "must be application/json")
		}
	}
	if r.Body == nil {
		return apperr.Invalid("body", "is required")
	}
	// The bytes the decoder reads are kept for the NUL check; the body limit of
	// NewHandler bounds them.
	var seen bytes.Buffer
	body := &errReader{r: io.TeeReader(r.Body, &seen)}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, body.err)
	}
	// A second value would otherwise be ignored, hiding client bugs such as
	// two concatenated documents.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(body.err, &mbe) {
			return tooLarge(mbe)
		}
		if body.err != nil && !errors.Is(body.err, io.EOF) {
			return readError(body.err)
		}
		return apperr.Invalid("body", "must contain a single JSON value")
	}
	if path, ok := findNUL(seen.Bytes()); ok {
		return apperr.Invalid(path, "must not contain the NUL character (\\u0000)")
	}
	return nil
}

// findNUL returns the JSON path of the first string of the JSON value in data that holds a
// NUL character: "name", "meeting.format[1]", "[0].id", or "body" for a top-level string.
// A NUL in a key is reported at the path that key names.
func findNUL(data []byte) (string, bool) {
	type frame struct {
		object    bool
		key       string
		index     int
		expectKey bool
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	// done moves the innermost container past the value that just ended.
	done := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		if top.object {
			top.expectKey = true
		} else {
			top.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			// The value decoded before this runs, so only its end is left.
			return "", false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, expectKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				done()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
				// Written out, so the problem does not echo the NUL itself.
				stack[n-1].key, stack[n-1].expectKey = strings.ReplaceAll(t, "\x00", `\u0000`), false
				if strings.ContainsRune(t, 0) {
					return path(), true
				}
				continue
			}
			if strings.ContainsRune(t, 0) {
				return path(), true
			}
			done()
		default:
			done()
		}
		if len(stack) == 0 {
			return "", false
		}
	}
}

// errReader remembers the last read error. Custom UnmarshalJSON methods
// (time.Time's, for one) return untyped errors, and this is what tells
// those client mistakes apart from a failing connection.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

func decodeError(err, readErr error) error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxErr    *http.MaxBytesError
		targetErr *json.InvalidUnmarshalError
	)
	switch {
	case errors.Is(err, io.EOF):
		return apperr.Invalid("body", "is required").Wrap(err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalid("body", "is truncated JSON").Wrap(err)
	case errors.As(err, &syntaxErr):
		return apperr.Invalid("body", fmt.Sprintf("is not valid JSON at byte offset %d", syntaxErr.Offset)).Wrap(err)
	case errors.As(err, &typeErr):
		// An empty Field means the top-level value itself had the wrong type.
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		msg := fmt.Sprintf("must be %s, not %s", jsonTypeName(typeErr.Type), typeErr.Value)
		return apperr.Invalid(field, msg).Wrap(err)
	case errors.As(err, &maxErr):
		return tooLarge(maxErr)
	case errors.As(err, &targetErr):
		return fmt.Errorf("decode JSON: %w", err)
	}
	if readErr != nil && errors.Is(err, readErr) {
		return readError(err)
	}
	// encoding/json has no typed error for unknown fields; its message is
	// the only place the field name is available.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return apperr.Invalid(strings.Trim(name, `"`), "is not a known field").Wrap(err)
	}
	// What is left came from a custom unmarshaler rejecting a value, which
	// is the client's input echoed back rather than server internals.
	return apperr.Invalid("body", "has an invalid value: "+err.Error()).Wrap(err)
}

// readError wraps a failure to read the body: the server's read timeout cut off a client
// too slow to send it (the client's fault, answered 408), or the connection failed (nobody
// is left to answer; logged as internal). Either way it is the client's connection, never
// a dependency's, which WriteProblem must not take for a database outage.
func readError(err error) error {
	var ne net.Error
	return &bodyReadError{err: err, timeout: errors.As(err, &ne) && ne.Timeout()}
}

type bodyReadError struct {
	err     error
	timeout bool
}

func (e *bodyReadError) Error() string { return "read request body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

func tooLarge(e *http.MaxBytesError) error {
	return apperr.TooLarge("body", fmt.Sprintf("is larger than %d bytes", e.Limit)).Wrap(e)
}

// jsonTypeName names t the way a JSON client thinks of it.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	default:
		return "a " + t.String()
	}
}
