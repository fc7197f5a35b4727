// Package journal persists the progress of a recording's uploads in its
// directory, so that a run that dies (kill -9, deadline, SIGTERM, crash)
// is continued by the next one instead of starting over: which multipart
// upload each file belongs to, its part size, the parts completed with their
// checksums, the local file's identity when the upload began, and, once
// done, the object version and the committed manifest.
//
// The file is rewritten atomically (temp file, fsync, rename). Writes are
// coalesced by a background writer so part uploads never wait on fsync; a
// part that completed but was not journaled yet is found again through
// ListParts, which is the source of truth for parts.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/atomicfile"
)

// File is the journal's name inside a recording directory.
const File = ".finalize-journal.json"

// Version of the journal format.
const Version = 1

// MaxSize bounds what Decode accepts.
const MaxSize = 8 << 20

// Status of one file's upload.
const (
	StatusUploading = "uploading" // multipart upload created, parts may exist
	StatusCompleted = "completed" // object stored (VersionID), verification may be pending
)

// Part is one uploaded part.
type Part struct {
	Number   int32  `json:"n"`
	Size     int64  `json:"size"`
	ETag     string `json:"etag"`
	Checksum string `json:"checksum,omitempty"`
}

// Entry is one file's upload.
type Entry struct {
	Key       string    `json:"key"`
	UploadID  string    `json:"upload_id,omitempty"`
	PartSize  int64     `json:"part_size,omitempty"`
	Algorithm string    `json:"checksum_algorithm"`
	Size      int64     `json:"size"`
	ModTimeNs int64     `json:"mtime_ns"`
	Dev       uint64    `json:"dev"`
	Ino       uint64    `json:"ino"`
	Status    string    `json:"status"`
	VersionID string    `json:"version_id,omitempty"`
	Checksum  string    `json:"checksum,omitempty"`
	Parts     []Part    `json:"parts,omitempty"`
	Started   time.Time `json:"started"`
}

// Journal is the whole document.
type Journal struct {
	Version  int               `json:"version"`
	Files    map[string]*Entry `json:"files"`
	Manifest string            `json:"manifest,omitempty"` // committed manifest key
	Layout   *Layout           `json:"layout,omitempty"`
}

// Layout pins what the object keys were derived from in the first run, so
// a later run (after some files were already deleted) renders the same
// keys.
type Layout struct {
	Start  time.Time `json:"start"`
	Room   string    `json:"room"`
	Tenant string    `json:"tenant,omitempty"`
}

// ErrCorrupt reports an undecodable journal; callers start over.
var ErrCorrupt = errors.New("journal: corrupt journal")

// Decode parses a journal; it never panics.
func Decode(b []byte) (*Journal, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(b))
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if j.Version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrCorrupt, j.Version, Version)
	}
	if j.Files == nil {
		j.Files = map[string]*Entry{}
	}
	for name, e := range j.Files {
		if e == nil || e.Key == "" || e.Size < 0 || e.PartSize < 0 || (e.Status != StatusUploading && e.Status != StatusCompleted) {
			return nil, fmt.Errorf("%w: bad entry for %q", ErrCorrupt, name)
		}
		for _, p := range e.Parts {
			if p.Number < 1 || p.Number > 10000 || p.Size < 0 {
				return nil, fmt.Errorf("%w: bad part in %q", ErrCorrupt, name)
			}
		}
	}
	return &j, nil
}

// Load reads the journal of dir; a missing file gives an empty journal.
func Load(dir string) (*Journal, error) {
	b, err := os.ReadFile(filepath.Join(dir, File))
	if errors.Is(err, os.ErrNotExist) {
		return &Journal{Version: Version, Files: map[string]*Entry{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: cannot read: %w", err)
	}
	return Decode(b)
}

// Store holds a journal in memory and persists it in the background.
type Store struct {
	dir string

	mu      sync.Mutex
	j       *Journal
	dirty   bool
	writing bool
	err     error
	idle    *sync.Cond
}

// Open loads dir's journal into a Store. A corrupt journal is reported and
// replaced by an empty one (everything starts over, nothing is lost).
func Open(dir string) (*Store, error) {
	j, err := Load(dir)
	s := &Store{dir: dir, j: j}
	s.idle = sync.NewCond(&s.mu)
	if err != nil {
		s.j = &Journal{Version: Version, Files: map[string]*Entry{}}
		return s, err
	}
	return s, nil
}

// Get returns a copy of the entry for name.
func (s *Store) Get(name string) (Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.j.Files[name]
	if !ok {
		return Entry{}, false
	}
	c := *e
	c.Parts = append([]Part(nil), e.Parts...)
	return c, true
}

// Layout returns the pinned layout, if any.
func (s *Store) Layout() *Layout {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.j.Layout == nil {
		return nil
	}
	l := *s.j.Layout
	return &l
}

// Manifest returns the committed manifest key, if any.
func (s *Store) Manifest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.j.Manifest
}

// Update changes the journal and schedules a write.
func (s *Store) Update(f func(j *Journal)) {
	s.mu.Lock()
	f(s.j)
	s.dirty = true
	start := !s.writing
	s.writing = true
	s.mu.Unlock()
	if start {
		go s.writer()
	}
}

// Commit changes the journal and waits until it is on disk: for steps a
// later run must never miss (an object completed, the manifest committed).
func (s *Store) Commit(f func(j *Journal)) error {
	s.Update(f)
	return s.Flush()
}

// writer persists the latest state until nothing is dirty.
func (s *Store) writer() {
	s.mu.Lock()
	for s.dirty {
		s.dirty = false
		b, err := json.Marshal(s.j)
		s.mu.Unlock()
		if err == nil {
			err = atomicfile.Write(filepath.Join(s.dir, File), b, 0o644)
		}
		s.mu.Lock()
		if err != nil && s.err == nil {
			s.err = err
		}
	}
	s.writing = false
	s.idle.Broadcast()
	s.mu.Unlock()
}

// Flush waits until the latest state is on disk and returns the first
// write error, if any (the journal then only speeds up a retry; losing it
// never loses data).
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.writing {
		s.idle.Wait()
	}
	return s.err
}

// Err returns the first write error without waiting.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Remove deletes the journal file (after cleanup or when abandoning it).
func Remove(dir string) error {
	err := os.Remove(filepath.Join(dir, File))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
