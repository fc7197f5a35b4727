package secrets

import (
	"fmt"
	"io"
	"log/slog"
)

// Value is a secret value that shows as [redacted] everywhere it could be
// printed or encoded: every fmt verb and flag (Format, String, GoString),
// encoding/json (MarshalJSON), encoding/xml and every other text encoder
// (MarshalText), zerolog (Interface and Any encode through JSON, Stringer
// through String) and log/slog (LogValue). Only Reveal returns the text.
//
// The text sits behind a pointer in an unexported field, so even printers
// that do not call methods (fmt on an unexported struct field, a
// reflect.Value, a bad verb) see an address, never the text.
type Value struct{ s *string }

// NewValue wraps s.
func NewValue(s string) Value { return Value{s: &s} }

const redacted = "[redacted]"

// Reveal returns the value itself, for writing it where it belongs.
func (v Value) Reveal() string {
	if v.s == nil {
		return ""
	}
	return *v.s
}

// IsZero reports whether the value is empty.
func (v Value) IsZero() bool { return v.Reveal() == "" }

// String returns [redacted].
func (Value) String() string { return redacted }

// GoString returns [redacted], for %#v.
func (Value) GoString() string { return redacted }

// Format writes [redacted] for every verb and flag; %q quotes it.
func (Value) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = io.WriteString(f, `"`+redacted+`"`)
		return
	}
	_, _ = io.WriteString(f, redacted)
}

// MarshalJSON returns "[redacted]".
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns [redacted].
func (Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue returns [redacted] for log/slog.
func (Value) LogValue() slog.Value { return slog.StringValue(redacted) }

var (
	_ fmt.Formatter  = Value{}
	_ fmt.GoStringer = Value{}
	_ slog.LogValuer = Value{}
)
