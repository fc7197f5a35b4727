package recdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version of the record format.
const Version = 2

// MaxSize bounds what Decode accepts.
const MaxSize = 8 << 20

// ErrCorrupt reports an undecodable record.
var ErrCorrupt = errors.New("recdir: corrupt record")

// Outcome of the last attempt that did not commit.
type Outcome string

// Outcomes. The empty Outcome means no failed attempt since the last
// success (or none at all).
const (
	OutcomeFailed    Outcome = "failed"    // transient failure, retried
	OutcomeDeadline  Outcome = "deadline"  // ran out of time, retried
	OutcomeMismatch  Outcome = "mismatch"  // S3 did not hold the bytes read, retried
	OutcomePermanent Outcome = "permanent" // a retry cannot fix it without an operator (see Hint)
)

// Upload statuses of a file.
const (
	FilePinned    = ""          // key rendered and pinned; no upload yet
	FileUploading = "uploading" // multipart upload created, parts may exist
	FileCompleted = "completed" // object stored (VersionID); verification may be pending
)

// Part is one stored part of a multipart upload, as UploadPart answered (or,
// for a listed part a resume proved by its MD5 ETag, with the checksum of the
// local bytes).
type Part struct {
	Number   int32  `json:"n"`
	Size     int64  `json:"size"`
	ETag     string `json:"etag,omitempty"`
	Checksum string `json:"checksum,omitempty"`
}

// File is one media file of the recording.
type File struct {
	// Key is the object key, pinned the first time it was rendered: later
	// runs reuse it whatever else is still on disk.
	Key string `json:"key"`

	Status string `json:"status,omitempty"`

	// The file's identity when its upload began.
	Size      int64  `json:"size,omitempty"`
	ModTimeNs int64  `json:"mtime_ns,omitempty"`
	Dev       uint64 `json:"dev,omitempty"`
	Ino       uint64 `json:"ino,omitempty"`

	// Rearranged names the byte layout the object was uploaded in when it
	// is not the file's own ("faststart-v1": an MP4 with its moov moved in
	// front of its media), and ObjectSize is then the object's length. It
	// is part of the identity: parts, part count and checksum are those of
	// that layout, so a run that would send another layout starts over.
	Rearranged string `json:"rearranged,omitempty"`
	ObjectSize int64  `json:"object_size,omitempty"`

	UploadID  string `json:"upload_id,omitempty"`
	PartSize  int64  `json:"part_size,omitempty"`
	Algorithm string `json:"checksum_algorithm,omitempty"`
	// Verify is the verification mode of the upload (package upload owns
	// the names); empty for the full-object checksum.
	Verify  string    `json:"verify,omitempty"`
	Parts   []Part    `json:"parts,omitempty"`
	Started time.Time `json:"started,omitzero"`

	VersionID string `json:"version_id,omitempty"`
	Checksum  string `json:"checksum,omitempty"`

	// Unplayable says why no player can open the file (an MP4 without its
	// moov index, package mp4), as finalize found it before uploading it;
	// empty when it plays or is not a media container. The file is
	// uploaded all the same: this only flags it.
	Unplayable string `json:"unplayable,omitempty"`
}

// UploadSize is the length of what is uploaded: the object's when the
// file is rearranged, else the file's.
func (f *File) UploadSize() int64 {
	if f.Rearranged != "" {
		return f.ObjectSize
	}
	return f.Size
}

// Layout pins what the object keys were derived from in the first run.
type Layout struct {
	Start  time.Time `json:"start"`
	Room   string    `json:"room"`
	Tenant string    `json:"tenant,omitempty"`
}

// Record is the state of one recording directory.
type Record struct {
	Version int `json:"version"`

	// Attempts counts finalize runs that got as far as uploading.
	Attempts  int       `json:"attempts"`
	Outcome   Outcome   `json:"outcome,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	Hint      string    `json:"hint,omitempty"`
	Updated   time.Time `json:"updated,omitzero"`

	Layout *Layout          `json:"layout,omitempty"`
	Files  map[string]*File `json:"files"`

	// Manifest is the key of the committed manifest: the commit marker.
	Manifest  string    `json:"manifest,omitempty"`
	Committed time.Time `json:"committed,omitzero"`
	// HandedOff: the hook stopped within its hold and left the rest of the
	// upload to the watcher (parts stored so far are in Files); cleared
	// when a run picks it up.
	HandedOff   bool      `json:"handed_off,omitempty"`
	HandedOffAt time.Time `json:"handed_off_at,omitzero"`
	// Kept: committed with --keep; the local files stay on purpose and
	// the watcher leaves the recording alone.
	Kept bool `json:"kept,omitempty"`
	// Leftovers are entries a committed recording left on disk on purpose
	// (refused entries, empty files).
	Leftovers []string `json:"leftovers,omitempty"`
}

// New returns an empty record.
func New() *Record { return &Record{Version: Version, Files: map[string]*File{}} }

// IsCommitted reports whether a manifest was committed.
func (r *Record) IsCommitted() bool { return r.Manifest != "" }

// Failed reports whether the last attempt failed.
func (r *Record) Failed() bool { return r.Outcome != "" }

// Progress returns the parts stored so far and the parts in all, over the
// files whose upload began (a completed file counts all of its parts).
func (r *Record) Progress() (stored, total int) {
	for _, f := range r.Files {
		switch {
		case f.Status == FileCompleted:
			n := max(1, len(f.Parts))
			stored, total = stored+n, total+n
		case f.Status == FileUploading && f.PartSize > 0:
			stored += len(f.Parts)
			total += int((f.UploadSize() + f.PartSize - 1) / f.PartSize)
		}
	}
	return stored, total
}

// Clone returns a deep copy.
func (r *Record) Clone() *Record {
	c := *r
	if r.Layout != nil {
		l := *r.Layout
		c.Layout = &l
	}
	c.Files = make(map[string]*File, len(r.Files))
	for k, f := range r.Files {
		fc := *f
		fc.Parts = append([]Part(nil), f.Parts...)
		c.Files[k] = &fc
	}
	c.Leftovers = append([]string(nil), r.Leftovers...)
	return &c
}

// Decode parses a record; it never panics and rejects what it cannot
// trust.
func Decode(b []byte) (*Record, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(b))
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if r.Version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrCorrupt, r.Version, Version)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Record) check() error {
	if r.Files == nil {
		r.Files = map[string]*File{}
	}
	if r.Attempts < 0 {
		return fmt.Errorf("%w: negative attempts", ErrCorrupt)
	}
	switch r.Outcome {
	case "", OutcomeFailed, OutcomeDeadline, OutcomeMismatch, OutcomePermanent:
	default:
		return fmt.Errorf("%w: unknown outcome %q", ErrCorrupt, r.Outcome)
	}
	for name, f := range r.Files {
		if f == nil || f.Key == "" || f.Size < 0 || f.PartSize < 0 || f.ObjectSize < 0 || (f.Rearranged != "") != (f.ObjectSize > 0) {
			return fmt.Errorf("%w: bad entry for %q", ErrCorrupt, name)
		}
		switch f.Status {
		case FilePinned, FileUploading, FileCompleted:
		default:
			return fmt.Errorf("%w: bad status for %q", ErrCorrupt, name)
		}
		for _, p := range f.Parts {
			if p.Number < 1 || p.Number > 10000 || p.Size < 0 {
				return fmt.Errorf("%w: bad part in %q", ErrCorrupt, name)
			}
		}
	}
	return nil
}

func encode(r *Record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("recdir: cannot encode record: %w", err)
	}
	return append(b, '\n'), nil
}
