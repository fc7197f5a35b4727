package keytmpl

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Default is the template used when none is configured.
const Default = "{prefix}/{yyyy}/{mm}/{dd}/{room}/{session}/{file}"

// MaxSegment bounds the bytes of one sanitized segment.
const MaxSegment = 120

// MaxKey is S3's limit on the length of a key in bytes.
const MaxKey = 1024

// Fields are the values a template refers to.
type Fields struct {
	Prefix  string    // may contain "/" (several segments)
	Time    time.Time // recording start
	Tenant  string    // may contain "/"; rendered before the room by {room}
	Room    string
	Session string
	File    string
}

var placeholders = map[string]bool{
	"prefix": true, "yyyy": true, "mm": true, "dd": true, "hh": true,
	"tenant": true, "room": true, "session": true, "file": true,
}

// Template is a parsed key template.
type Template struct {
	raw   string
	parts []part // alternating literals and placeholders
}

type part struct {
	lit  string
	name string
}

// ErrTemplate reports an invalid template.
var ErrTemplate = errors.New("keytmpl: invalid template")

// Parse validates a template.
func Parse(s string) (*Template, error) {
	t := &Template{raw: s}
	rest := s
	seen := map[string]bool{}
	for rest != "" {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			t.parts = append(t.parts, part{lit: rest})
			break
		}
		if rest[i] == '}' {
			return nil, fmt.Errorf("%w: unmatched '}' in %q", ErrTemplate, s)
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%w: unclosed '{' in %q", ErrTemplate, s)
		}
		name := rest[i+1 : i+j]
		if !placeholders[name] {
			return nil, fmt.Errorf("%w: unknown placeholder {%s} (known: prefix yyyy mm dd hh tenant room session file)", ErrTemplate, name)
		}
		seen[name] = true
		t.parts = append(t.parts, part{name: name})
		rest = rest[i+j+1:]
	}
	if !seen["session"] || !seen["file"] {
		return nil, fmt.Errorf("%w: %q must contain {session} and {file} so recordings cannot collide", ErrTemplate, s)
	}
	for _, p := range t.parts {
		if p.lit == "" {
			continue
		}
		for _, seg := range strings.Split(p.lit, "/") {
			if seg == "." || seg == ".." {
				return nil, fmt.Errorf("%w: %q contains a %q segment", ErrTemplate, s, seg)
			}
		}
		if strings.ContainsFunc(p.lit, unsafeRune) {
			return nil, fmt.Errorf("%w: %q contains a character not allowed in keys", ErrTemplate, s)
		}
	}
	return t, nil
}

// MustParse is Parse for constants.
func MustParse(s string) *Template {
	t, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return t
}

func (t *Template) String() string { return t.raw }

// Render builds a key. Placeholder values are sanitized; empty segments are
// dropped, so an empty prefix or tenant leaves no "//" behind.
func (t *Template) Render(f Fields) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		b.WriteString(t.value(p.name, f))
	}
	var segs []string
	for _, s := range strings.Split(b.String(), "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	key := strings.Join(segs, "/")
	if key == "" {
		return "", fmt.Errorf("keytmpl: template %q renders an empty key", t.raw)
	}
	if len(key) > MaxKey {
		return "", fmt.Errorf("keytmpl: key is %d bytes, more than S3's %d", len(key), MaxKey)
	}
	return key, nil
}

func (t *Template) value(name string, f Fields) string {
	switch name {
	case "prefix":
		return Path(f.Prefix)
	case "yyyy":
		return f.Time.Format("2006")
	case "mm":
		return f.Time.Format("01")
	case "dd":
		return f.Time.Format("02")
	case "hh":
		return f.Time.Format("15")
	case "tenant":
		return Path(f.Tenant)
	case "room":
		room := Segment(f.Room)
		if f.Tenant != "" {
			return Path(f.Tenant) + "/" + room
		}
		return room
	case "session":
		return Segment(f.Session)
	case "file":
		return Segment(f.File)
	}
	return ""
}

// Path sanitizes each "/"-separated segment of s and drops empty ones.
func Path(s string) string {
	var segs []string
	for _, p := range strings.Split(s, "/") {
		if p != "" {
			segs = append(segs, Segment(p))
		}
	}
	return strings.Join(segs, "/")
}

// Segment sanitizes one key segment: invalid UTF-8, control, format and
// bidirectional-control characters and characters S3 advises against become
// "_"; runs of whitespace become "_"; a segment of dots is prefixed with "_";
// an over-long segment is cut at a rune boundary and suffixed with a hash of
// the original so distinct long names stay distinct. It never returns "".
func Segment(s string) string {
	var b strings.Builder
	lastUnderscore := false
	for i, w := 0, 0; i < len(s); i += w {
		r, width := utf8.DecodeRuneInString(s[i:])
		w = width
		switch {
		case r == utf8.RuneError && width <= 1, unsafeRune(r), r == '/':
			r = '_'
		case unicode.IsSpace(r):
			r = '_'
		}
		if r == '_' && lastUnderscore {
			continue
		}
		lastUnderscore = r == '_'
		b.WriteRune(r)
	}
	out := b.String()
	if strings.Trim(out, ".") == "" {
		out = "_" + out
	}
	if len(out) > MaxSegment {
		sum := sha256.Sum256([]byte(s))
		suffix := "~" + hex.EncodeToString(sum[:4])
		cut := MaxSegment - len(suffix)
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + suffix
	}
	return out
}

// unsafeRune reports characters that never appear in a key we write.
func unsafeRune(r rune) bool {
	if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || unicode.Is(unicode.Cf, r) {
		return true
	}
	switch r {
	case '\\', '{', '}', '^', '%', '`', '[', ']', '"', '<', '>', '#', '|', '?', '*', 0xFFFD:
		return true
	}
	return false
}
