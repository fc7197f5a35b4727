package jibri

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MetadataFile is the name Jibri gives the metadata file.
const MetadataFile = "metadata.json"

// MaxMetadataSize bounds how much of metadata.json is read; Jibri writes a
// single short line, so anything larger is treated as corrupt.
const MaxMetadataSize = 1 << 20

// ErrCorrupt reports a metadata.json that is not a JSON object.
var ErrCorrupt = errors.New("jibri: corrupt metadata.json")

// Metadata is the part of metadata.json this project uses. It never holds
// credentials.
type Metadata struct {
	// MeetingURL is meeting_url without user info, query or fragment.
	MeetingURL string
	// Tenant is the path between the host and the room ("" without one).
	Tenant string
	// Room is the last path segment of the meeting URL, unescaped.
	Room string
	// Participants is the number of entries in "participants".
	Participants int
	// SessionID is conference_details.session_id when present.
	SessionID string
	// public is every other key, redacted.
	public map[string]any
}

// Public returns the metadata as it may be stored in a manifest: known
// fields plus unknown keys, with credentials dropped and secret-looking
// values redacted at any depth.
func (m *Metadata) Public() map[string]any {
	out := make(map[string]any, len(m.public)+2)
	for k, v := range m.public {
		out[k] = v
	}
	if m.MeetingURL != "" {
		out["meeting_url"] = m.MeetingURL
	}
	return out
}

// ParseMetadata decodes metadata.json. Unknown keys are kept (redacted),
// missing fields are left empty. It returns ErrCorrupt, wrapped with the
// reason, when data is not a single JSON object.
func ParseMetadata(data []byte) (*Metadata, error) {
	if len(data) > MaxMetadataSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d byte limit", ErrCorrupt, len(data), MaxMetadataSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, describeJSONError(err))
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrCorrupt)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrCorrupt)
	}
	if depth(raw, 0) > maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d levels", ErrCorrupt, maxDepth)
	}

	m := &Metadata{}
	if s, ok := raw["meeting_url"].(string); ok {
		m.MeetingURL, m.Tenant, m.Room = parseMeetingURL(s)
	}
	if p, ok := raw["participants"].([]any); ok {
		m.Participants = len(p)
	}
	if cd, ok := raw["conference_details"].(map[string]any); ok {
		if s, ok := cd["session_id"].(string); ok {
			m.SessionID = s
		}
	}
	delete(raw, "meeting_url")
	m.public = redact(raw).(map[string]any)
	return m, nil
}

func describeJSONError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "top level is a " + te.Value + ", not an object"
	}
	// Never echo the input: it may hold secrets.
	return "invalid JSON"
}

const maxDepth = 32

func depth(v any, d int) int {
	if d > maxDepth {
		return d
	}
	max := d
	switch t := v.(type) {
	case map[string]any:
		for _, c := range t {
			max = maxInt(max, depth(c, d+1))
		}
	case []any:
		for _, c := range t {
			max = maxInt(max, depth(c, d+1))
		}
	}
	return max
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Redacted is what replaces a secret value.
const Redacted = "[redacted]"

// dropped keys never appear at all: they carry third-party credentials.
var dropped = map[string]bool{"upload_credentials": true}

// secretWords mark a key as secret when its lowercased name contains one.
var secretWords = []string{"token", "secret", "password", "passwd", "credential", "jwt", "auth", "apikey", "api_key", "app_key", "private", "cookie", "session_key", "signature"}

// IsSecretKey reports whether a metadata key name looks like it holds a
// secret.
func IsSecretKey(k string) bool {
	lk := strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(lk, w) {
			return true
		}
	}
	return false
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			switch {
			case dropped[strings.ToLower(k)]:
			case IsSecretKey(k):
				out[k] = Redacted
			default:
				out[k] = redact(c)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = redact(c)
		}
		return out
	case string:
		if u, err := url.Parse(t); err == nil && u.Scheme != "" && u.Host != "" {
			return cleanURL(u)
		}
		return t
	default:
		return t
	}
}

// parseMeetingURL returns the URL without credentials, query or fragment,
// and the tenant and room from its path. A JWT in "?jwt=" never survives.
func parseMeetingURL(s string) (clean, tenant, room string) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return "", "", ""
	}
	var segs []string
	for _, p := range strings.Split(u.Path, "/") {
		if p != "" {
			segs = append(segs, p)
		}
	}
	if len(segs) > 0 {
		room = segs[len(segs)-1]
		tenant = strings.Join(segs[:len(segs)-1], "/")
	}
	return cleanURL(u), tenant, room
}

func cleanURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment, c.RawFragment, c.ForceQuery = nil, "", "", "", false
	return c.String()
}
