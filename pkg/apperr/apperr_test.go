package apperr_test

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"

	"github.com/copnet/copnet/pkg/apperr"
)

func TestConstructorsSetKindAndDetail(t *testing.T) {
	tests := []struct {
		name   string
		err    *apperr.Error
		kind   apperr.Kind
		detail string
		fields []apperr.FieldError
	}{
		{"invalid", apperr.Invalid("name", "is required"), apperr.KindInvalid, "name is required",
			[]apperr.FieldError{{Field: "name", Message: "is required"}}},
		{"unprocessable", apperr.Unprocessable("ends_at", "must be after starts_at"), apperr.KindUnprocessable,
			"ends_at must be after starts_at", []apperr.FieldError{{Field: "ends_at", Message: "must be after starts_at"}}},
		{"unprocessable without field", apperr.Unprocessable("", "region is closed"), apperr.KindUnprocessable,
			"region is closed", nil},
		{"not found", apperr.NotFound("cop %q not found", "c1"), apperr.KindNotFound, `cop "c1" not found`, nil},
		{"conflict", apperr.Conflict("cop %s exists", "c1"), apperr.KindConflict, "cop c1 exists", nil},
		{"forbidden", apperr.Forbidden("hub may not %s", "delete"), apperr.KindForbidden, "hub may not delete", nil},
		{"unauthenticated", apperr.Unauthenticated("token expired"), apperr.KindUnauthenticated, "token expired", nil},
		{"too many", apperr.TooMany("slow down"), apperr.KindTooMany, "slow down", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Kind != tt.kind {
				t.Errorf("kind = %v, want %v", tt.err.Kind, tt.kind)
			}
			if tt.err.Detail != tt.detail {
				t.Errorf("detail = %q, want %q", tt.err.Detail, tt.detail)
			}
			if !reflect.DeepEqual(tt.err.Fields, tt.fields) {
				t.Errorf("fields = %+v, want %+v", tt.err.Fields, tt.fields)
			}
		})
	}
}

func TestInvalidFieldsListsAllFields(t *testing.T) {
	err := apperr.InvalidFields(
		apperr.FieldError{Field: "name", Message: "is required"},
		apperr.FieldError{Field: "region", Message: "is unknown"},
	)
	if want := "invalid input: name is required; region is unknown"; err.Detail != want {
		t.Errorf("detail = %q, want %q", err.Detail, want)
	}
	if len(err.Fields) != 2 {
		t.Errorf("fields = %+v, want 2", err.Fields)
	}
}

func TestKindOfFindsWrappedError(t *testing.T) {
	err := fmt.Errorf("load cop: %w", apperr.NotFound("cop not found"))
	kind, ok := apperr.KindOf(err)
	if !ok || kind != apperr.KindNotFound {
		t.Fatalf("KindOf = %v, %v; want not-found, true", kind, ok)
	}
	if _, ok := apperr.KindOf(io.EOF); ok {
		t.Error("KindOf(io.EOF) reported a kind")
	}
	if _, ok := apperr.KindOf(nil); ok {
		t.Error("KindOf(nil) reported a kind")
	}
}

func TestErrorUnwrapsCause(t *testing.T) {
	err := apperr.Conflict("duplicate").Wrap(io.ErrUnexpectedEOF)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("errors.Is did not find the cause")
	}
	if got, want := err.Error(), "duplicate: unexpected EOF"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if err.Detail != "duplicate" {
		t.Errorf("detail leaked the cause: %q", err.Detail)
	}
}

func TestZeroKindIsInternal(t *testing.T) {
	var e apperr.Error
	if e.Kind != apperr.KindInternal {
		t.Errorf("zero kind = %v, want internal", e.Kind)
	}
}

func TestValidatorReportsAllProblems(t *testing.T) {
	var v apperr.Validator
	if v.Require(false, "name", "is required") {
		t.Error("Require(false) returned true")
	}
	v.Check(false, "name", "is too long") // dropped: name already failed
	v.Check(true, "email", "is malformed")
	v.Check(false, "region", "is unknown")

	err := v.Err()
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("Err() = %v, want *apperr.Error", err)
	}
	want := []apperr.FieldError{{Field: "name", Message: "is required"}, {Field: "region", Message: "is unknown"}}
	if ae.Kind != apperr.KindInvalid || !reflect.DeepEqual(ae.Fields, want) {
		t.Errorf("got kind %v fields %+v, want invalid %+v", ae.Kind, ae.Fields, want)
	}
}

func TestValidatorWithoutProblemsReturnsNil(t *testing.T) {
	var v apperr.Validator
	v.Require(true, "name", "is required")
	v.Check(true, "email", "is malformed")
	if err := v.Err(); err != nil {
		t.Fatalf("Err() = %v, want nil", err)
	}
	if !v.Valid() {
		t.Error("Valid() = false")
	}
}
