package policy

import (
	"errors"
	"fmt"
)

// FieldError is one problem with one configuration field.
type FieldError struct {
	// Path names the field, e.g. "policies[1].targetTracking.TargetValue".
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// Errors collects FieldErrors.
type Errors []*FieldError

func (e *Errors) add(path, format string, a ...any) {
	*e = append(*e, &FieldError{Path: path, Msg: fmt.Sprintf(format, a...)})
}

func (e Errors) err() error {
	if len(e) == 0 {
		return nil
	}
	errs := make([]error, len(e))
	for i, fe := range e {
		errs[i] = fe
	}
	return errors.Join(errs...)
}

// Prefix puts prefix and a dot before the path of every FieldError in err
// (joined or single) and returns the result; other errors are returned with
// the prefix as text.
func Prefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *FieldError
		if errors.As(err, &fe) {
			out = append(out, &FieldError{Path: prefix + "." + fe.Path, Msg: fe.Msg})
			return
		}
		out = append(out, &FieldError{Path: prefix, Msg: err.Error()})
	}
	walk(err)
	return errors.Join(out...)
}
