package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/jsondoc"
	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
)

// Schema identifies the document type.
const Schema = "jibri-s3/recording-event"

// Version is the schema version this package writes.
const Version = 1

// TypeCommitted is the type of the event sent once a recording is
// committed (its manifest stored in S3, every object verified).
const TypeCommitted = "recording.committed"

// MaxSize bounds what Decode accepts.
const MaxSize = 4 << 20

// ErrInvalid reports a document that is not an event this package knows.
var ErrInvalid = errors.New("event: invalid event")

// Event is one committed recording, as integrators receive it.
type Event struct {
	Schema    string    `json:"schema"`
	Version   int       `json:"version"`
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Recording Recording `json:"recording"`
	Bucket    string    `json:"bucket"`
	Manifest  Object    `json:"manifest"`
	Objects   []Object  `json:"objects"`
}

// Recording identifies the meeting and the session.
type Recording struct {
	SessionID  string `json:"session_id"`
	Room       string `json:"room"`
	Tenant     string `json:"tenant,omitempty"`
	MeetingURL string `json:"meeting_url,omitempty"` // without credentials, query or fragment
	// Share is metadata.json's "share" (the record dialog's "share with
	// participants"); null when metadata.json has none.
	Share     *bool     `json:"share"`
	StartedAt time.Time `json:"started_at"`
	// EndedAt is the last write to the media (its modification time), and
	// DurationSeconds the time from StartedAt to it: an estimate from the
	// file system, not the media's own duration. Zero when unknown.
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	DurationSeconds float64    `json:"duration_seconds"`
}

// Object is one stored object of the recording.
type Object struct {
	Name              string `json:"name,omitempty"`
	Key               string `json:"key"`
	VersionID         string `json:"version_id,omitempty"`
	Size              int64  `json:"size,omitempty"`
	ContentType       string `json:"content_type,omitempty"`
	ChecksumAlgorithm string `json:"checksum_algorithm,omitempty"`
	Checksum          string `json:"checksum,omitempty"`
	// Media is set for media files (MP4): the duration and whether a
	// player can open the file, as the manifest's media block says.
	Media *Media `json:"media,omitempty"`
	// Link is a presigned GET URL, added at each delivery attempt when
	// links are enabled (--link-expiry); never stored on disk.
	Link *Link `json:"link,omitempty"`
}

// Media is what an event says of a media object. An unplayable object
// (an MP4 without its index) is stored and verified like any other; a
// receiver should not offer it to a player as it is.
type Media struct {
	DurationSeconds float64 `json:"duration_seconds"`
	Playable        bool    `json:"playable"`
	Reason          string  `json:"reason,omitempty"` // why not playable
}

// Link is a presigned GET URL and the moment it stops working: the
// shorter of the expiry asked for and the expiry of the credentials that
// signed it.
type Link struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Commit is what the manifest does not hold about its own commit.
type Commit struct {
	ManifestKey     string
	ManifestVersion string    // "" on a bucket without versioning
	EndedAt         time.Time // last write to the media; zero if unknown
}

// Build returns the event of the recording m describes, committed as c.
func Build(m *manifest.Manifest, c Commit, now time.Time) (*Event, error) {
	if m == nil || c.ManifestKey == "" {
		return nil, fmt.Errorf("%w: no manifest", ErrInvalid)
	}
	e := &Event{
		Schema: Schema, Version: Version, Type: TypeCommitted, CreatedAt: now.UTC(),
		Recording: Recording{
			SessionID: m.Recording.SessionID, Room: m.Recording.Room, Tenant: m.Recording.Tenant,
			MeetingURL: m.Recording.MeetingURL, Share: share(m.Metadata), StartedAt: m.Recording.StartedAt.UTC(),
		},
		Bucket:   m.Bucket,
		Manifest: Object{Name: manifest.FileName, Key: c.ManifestKey, VersionID: c.ManifestVersion, ContentType: "application/json"},
	}
	if !c.EndedAt.IsZero() {
		end := c.EndedAt.UTC()
		e.Recording.EndedAt = &end
		if d := end.Sub(e.Recording.StartedAt); d > 0 && !e.Recording.StartedAt.IsZero() {
			e.Recording.DurationSeconds = d.Round(time.Millisecond).Seconds()
		}
	}
	for _, f := range m.Files {
		o := Object{Name: f.Name, Key: f.Key, VersionID: f.VersionID, Size: f.Size,
			ContentType: f.ContentType, ChecksumAlgorithm: f.ChecksumAlgorithm, Checksum: f.Checksum}
		if md := f.Media; md != nil {
			o.Media = &Media{DurationSeconds: md.DurationSeconds, Playable: md.Playable, Reason: md.Reason}
		}
		e.Objects = append(e.Objects, o)
	}
	e.ID = ID(e)
	if err := validate(e); err != nil {
		return nil, err
	}
	return e, nil
}

// share reads metadata.json's "share": a JSON boolean, or the strings
// "true"/"false" some clients send. Anything else is unknown (nil).
func share(md map[string]any) *bool {
	var b bool
	switch v := md["share"].(type) {
	case bool:
		b = v
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			b = true
		case "false":
		default:
			return nil
		}
	default:
		return nil
	}
	return &b
}

// ID derives the event id from the commit: the bucket, the manifest key
// and every object's key, version and checksum, in key order. The same
// objects committed again (a retry, a re-run after a crash) give the same
// id; a commit that adds or replaces an object gives another.
func ID(e *Event) string {
	objs := append([]Object(nil), e.Objects...)
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", Schema, e.Type, e.Bucket, e.Manifest.Key)
	for _, o := range objs {
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", o.Key, o.VersionID, o.Checksum)
	}
	return "evt_" + hex.EncodeToString(h.Sum(nil)[:16])
}

var idPattern = regexp.MustCompile(`^evt_[0-9a-f]{32}$`)

// ValidID reports whether s has the form of an event id (it is also a
// file name in the outbox).
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Encode renders e as JSON with the current schema and version.
func Encode(e *Event) ([]byte, error) {
	e.Schema, e.Version = Schema, Version
	if err := validate(e); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // links keep their "&"
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("event: cannot encode: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Decode parses and validates an event.
func Decode(b []byte) (*Event, error) {
	if err := jsondoc.Check(b, MaxSize, Schema, Version); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var e Event
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := validate(&e); err != nil {
		return nil, err
	}
	return &e, nil
}

func validate(e *Event) error {
	switch {
	case !ValidID(e.ID):
		return fmt.Errorf("%w: id %q", ErrInvalid, e.ID)
	case e.Type != TypeCommitted:
		return fmt.Errorf("%w: type %q", ErrInvalid, e.Type)
	case e.Recording.SessionID == "":
		return fmt.Errorf("%w: no session id", ErrInvalid)
	case e.Manifest.Key == "":
		return fmt.Errorf("%w: no manifest key", ErrInvalid)
	case len(e.Objects) == 0:
		return fmt.Errorf("%w: no objects", ErrInvalid)
	}
	for i, o := range e.Objects {
		if o.Key == "" || o.Size <= 0 || o.Checksum == "" {
			return fmt.Errorf("%w: object %d has no key, size or checksum", ErrInvalid, i)
		}
	}
	return nil
}
