package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
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
	body := &errReader{r: r.Body}
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
			return fmt.Errorf("read request body: %w", body.err)
		}
		return apperr.Invalid("body", "must contain a single JSON value")
	}
	return nil
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
		return fmt.Errorf("read request body: %w", err)
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
