package rotation

import (
	"fmt"
	"io"
)

// value is one secret value. Like internal/secrets' Value, it shows as
// [redacted] with every fmt verb and encoder (a zerolog field included), and
// the text sits behind a pointer so printers that skip methods show an
// address; only reveal returns it. Compare values with reveal, not ==.
type value struct {
	s *string
}

func newValue(s string) value { return value{s: &s} }

func (v value) reveal() string {
	if v.s == nil {
		return ""
	}
	return *v.s
}

const redacted = "[redacted]"

func (value) String() string   { return redacted }
func (value) GoString() string { return redacted }

func (value) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = io.WriteString(f, `"`+redacted+`"`)
		return
	}
	_, _ = io.WriteString(f, redacted)
}

func (value) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (value) MarshalText() ([]byte, error) { return []byte(redacted), nil }

var (
	_ fmt.Formatter  = value{}
	_ fmt.GoStringer = value{}
)
