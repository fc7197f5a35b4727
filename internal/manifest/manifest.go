// Package manifest defines the JSON document written next to a recording's
// media in S3, last, as the commit marker of the recording: what was
// uploaded, where, with which checksum and version, and the meeting's
// metadata with secrets removed.
//
// The schema is versioned. Decode accepts every version it knows and
// rejects anything else with a clear error; it never panics on any input.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/jsondoc"
)

// Schema identifies the document type.
const Schema = "jibri-s3/recording-manifest"

// Version is the schema version this package writes.
const Version = 1

// FileName is the manifest's file name next to the media.
const FileName = "manifest.json"

// MaxSize bounds what Decode accepts.
const MaxSize = 4 << 20

// Manifest describes one committed recording.
type Manifest struct {
	Schema      string         `json:"schema"`
	Version     int            `json:"version"`
	Recording   Recording      `json:"recording"`
	Bucket      string         `json:"bucket"`
	Files       []File         `json:"files"`
	Skipped     []Skipped      `json:"skipped,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`
	Uploader    Uploader       `json:"uploader"`
	Attempts    int            `json:"attempts"`
	StartedAt   time.Time      `json:"started_at"`
	CompletedAt time.Time      `json:"completed_at"`
}

// Recording identifies the meeting and the session.
type Recording struct {
	SessionID      string    `json:"session_id"`
	Room           string    `json:"room"`
	Tenant         string    `json:"tenant,omitempty"`
	MeetingURL     string    `json:"meeting_url,omitempty"`
	StartedAt      time.Time `json:"started_at"`
	Participants   int       `json:"participants"`
	MetadataStatus string    `json:"metadata_status"`
	MetadataError  string    `json:"metadata_error,omitempty"`
}

// File is one uploaded, verified object.
type File struct {
	Name              string `json:"name"`
	Key               string `json:"key"`
	Size              int64  `json:"size"`
	ContentType       string `json:"content_type"`
	ChecksumAlgorithm string `json:"checksum_algorithm"`
	Checksum          string `json:"checksum"`
	ChecksumType      string `json:"checksum_type"`
	// Verification is how S3 was proven to hold the bytes: checksum (S3
	// verified Checksum, the full-object CRC of the bytes read), etag
	// (Content-MD5 on every part and the ETag compared) or readback (the
	// object read back and its CRC compared with Checksum). Empty in
	// manifests written before the modes existed: checksum.
	Verification  string    `json:"verification,omitempty"`
	ETag          string    `json:"etag"`
	VersionID     string    `json:"version_id,omitempty"`
	Parts         int       `json:"parts"`
	PartsSent     int       `json:"parts_sent"` // by the run that wrote the manifest (resume: fewer)
	UploadStarted time.Time `json:"upload_started"`
	UploadSeconds float64   `json:"upload_seconds"`
	// Encryption is the server-side encryption as the store reported it
	// for the stored version (not as it was asked).
	Encryption *Encryption `json:"encryption,omitempty"`
	// Media is the file's structure as the uploader read it before the
	// upload (MP4 files; absent for other files and in manifests written
	// before it existed). A file that is not playable is uploaded and
	// verified like any other, and says so here.
	Media *Media `json:"media,omitempty"`
}

// Media describes a media file: container, duration and tracks, and
// whether a player can open it (package mp4 reads it).
type Media struct {
	Container       string       `json:"container"` // "mp4", "mov", or "" when not an ISO media file
	DurationSeconds float64      `json:"duration_seconds"`
	Tracks          []MediaTrack `json:"tracks,omitempty"`
	Moov            bool         `json:"moov"`       // the index is present
	Fragmented      bool         `json:"fragmented"` // movie fragments (the crash-resilient profile)
	Faststart       bool         `json:"faststart"`  // the index comes before the media
	Playable        bool         `json:"playable"`
	Reason          string       `json:"reason,omitempty"` // why not playable
	Notes           []string     `json:"notes,omitempty"`  // remarks that do not prevent playing
}

// MediaTrack is one track of a media file.
type MediaTrack struct {
	Kind            string  `json:"kind"`  // video, audio, or the handler type
	Codec           string  `json:"codec"` // RFC 6381 when known: avc1.42c01f, mp4a.40.2
	Profile         string  `json:"profile,omitempty"`
	Width           int     `json:"width,omitempty"`
	Height          int     `json:"height,omitempty"`
	SampleRate      int     `json:"sample_rate,omitempty"`
	Channels        int     `json:"channels,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// Unplayable reports whether the file was found not playable (false when
// it plays or was not inspected).
func (f File) Unplayable() bool { return f.Media != nil && !f.Media.Playable }

// Encryption is an object's server-side encryption as its store reports it.
type Encryption struct {
	Algorithm string `json:"algorithm"` // AES256, aws:kms, aws:kms:dsse, or "" (none reported)
	KMSKeyID  string `json:"kms_key_id,omitempty"`
	// Mismatch says how it differs from what was asked, when the upload was
	// accepted anyway (--sse-mismatch warn).
	Mismatch string `json:"mismatch,omitempty"`
}

// Skipped is a directory entry left on disk on purpose.
type Skipped struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Uploader identifies the program that wrote the manifest.
type Uploader struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Host    string `json:"host,omitempty"`
}

// ErrInvalid reports a document that is not a manifest this package knows.
var ErrInvalid = errors.New("manifest: invalid manifest")

// Encode renders m with the current schema and version.
func Encode(m *Manifest) ([]byte, error) {
	m.Schema, m.Version = Schema, Version
	if err := validate(m); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: cannot encode: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode parses and validates a manifest.
func Decode(b []byte) (*Manifest, error) {
	if err := jsondoc.Check(b, MaxSize, Schema, Version); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := validate(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

func validate(m *Manifest) error {
	if m.Recording.SessionID == "" {
		return fmt.Errorf("%w: no session id", ErrInvalid)
	}
	if len(m.Files) == 0 {
		return fmt.Errorf("%w: no files", ErrInvalid)
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		switch {
		case f.Key == "" || f.Name == "":
			return fmt.Errorf("%w: file %d has no name or key", ErrInvalid, i)
		case f.Size <= 0:
			return fmt.Errorf("%w: file %q has size %d", ErrInvalid, f.Name, f.Size)
		case f.Checksum == "" || f.ChecksumAlgorithm == "":
			return fmt.Errorf("%w: file %q has no checksum", ErrInvalid, f.Name)
		case seen[f.Key]:
			return fmt.Errorf("%w: key %q listed twice", ErrInvalid, f.Key)
		case f.Media != nil && !(f.Media.DurationSeconds >= 0):
			return fmt.Errorf("%w: file %q has duration %v", ErrInvalid, f.Name, f.Media.DurationSeconds)
		case f.Unplayable() && f.Media.Reason == "":
			return fmt.Errorf("%w: file %q is not playable and says not why", ErrInvalid, f.Name)
		}
		seen[f.Key] = true
	}
	return nil
}

// TotalBytes returns the sum of the file sizes.
func (m *Manifest) TotalBytes() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}
