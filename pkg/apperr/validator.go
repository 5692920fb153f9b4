package apperr

// Validator collects field problems so that all of them are reported in one
// error. The zero value is ready to use.
//
//	var v apperr.Validator
//	v.Require(name != "", "name", "is required")
//	v.Check(len(name) <= 80, "name", "must be at most 80 characters")
//	return v.Err()
//
// Only the first problem per field is kept: once "name is required" is
// recorded, follow-up checks on the same field would only add noise.
type Validator struct {
	fields []FieldError
}

// Require records msg for field when ok is false and reports ok, so callers
// can skip checks that only make sense when the requirement holds.
func (v *Validator) Require(ok bool, field, msg string) bool {
	v.Check(ok, field, msg)
	return ok
}

// Check records msg for field when ok is false, unless field already has a
// problem.
func (v *Validator) Check(ok bool, field, msg string) {
	if ok || v.has(field) {
		return
	}
	v.fields = append(v.fields, FieldError{Field: field, Message: msg})
}

// Valid reports whether no problem has been recorded.
func (v *Validator) Valid() bool { return len(v.fields) == 0 }

// Err returns nil when no problem was recorded, else an InvalidFields error
// listing every problem in the order found.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		// An untyped nil: returning a nil *Error as error would be non-nil.
		return nil
	}
	return InvalidFields(append([]FieldError(nil), v.fields...)...)
}

func (v *Validator) has(field string) bool {
	for _, f := range v.fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
