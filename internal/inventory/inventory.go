// Package inventory lists every recording directory under a recordings
// root and classifies it: still recording, settling, pending upload,
// uploading, failed (with the next retry time), stuck, done with
// leftovers, or not a recording. The watcher schedules from it and the
// status command prints it, so both always agree.
//
// Classification reads only directory entries, their sizes and mtimes, and
// the state file finalize leaves; it never opens media files.
package inventory

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/jibri"
	"github.com/jitsi-recorder/jibri-s3/internal/state"
)

// State of a recording directory.
type State string

// States, in the order a recording normally goes through them.
const (
	Recording State = "recording" // no metadata.json yet, files changing
	Settling  State = "settling"  // metadata.json present, waiting for the settle window
	Pending   State = "pending"   // ready to upload
	Uploading State = "uploading" // a finalizer holds the lock
	Failed    State = "failed"    // last attempt failed; waiting for the retry time
	Stuck     State = "stuck"     // failed MaxAttempts times; needs an operator
	Done      State = "done"      // committed; entries left on purpose (empty files, symlinks)
	Invalid   State = "invalid"   // not a recording directory (e.g. has subdirectories)
)

// Policy decides when a directory is ready.
type Policy struct {
	Settle      time.Duration // quiet time after metadata.json appears
	Orphan      time.Duration // quiet time for a directory without metadata.json
	MaxAttempts int           // failed attempts before a recording is stuck
	RetryBase   time.Duration // first retry delay after a failure
	RetryMax    time.Duration // cap on the retry delay
}

// DefaultPolicy suits Jibri: the hook normally runs right after
// metadata.json appears; the watcher steps in only after it.
func DefaultPolicy() Policy {
	return Policy{Settle: 30 * time.Second, Orphan: 10 * time.Minute, MaxAttempts: 8, RetryBase: time.Minute, RetryMax: 30 * time.Minute}
}

// Entry is one directory under the root.
type Entry struct {
	Dir         string    `json:"dir"`
	Session     string    `json:"session"`
	State       State     `json:"state"`
	Bytes       int64     `json:"bytes"`
	Files       int       `json:"files"`
	HasMetadata bool      `json:"has_metadata"`
	Oldest      time.Time `json:"oldest"`      // oldest entry mtime: the recording's age
	LastChange  time.Time `json:"last_change"` // newest mtime among entries and the directory
	ReadyAt     time.Time `json:"ready_at,omitempty"`
	Attempts    int       `json:"attempts,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Manifest    string    `json:"manifest,omitempty"`
}

// Age returns how long ago the oldest file was last written.
func (e Entry) Age(now time.Time) time.Duration { return now.Sub(e.Oldest) }

// LockProbe reports whether a directory is locked by a finalizer.
type LockProbe func(dir string) bool

// Scan classifies every directory directly under root. Hidden entries
// (names starting with ".") are this project's own spool and are skipped.
func Scan(root string, now time.Time, p Policy, locked LockProbe) ([]Entry, error) {
	des, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("inventory: cannot list %s: %w", root, err)
	}
	out := make([]Entry, 0, len(des))
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") || !de.IsDir() {
			continue
		}
		e, err := Classify(filepath.Join(root, de.Name()), now, p, locked)
		if errors.Is(err, os.ErrNotExist) {
			continue // finalized and removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Oldest.Before(out[j].Oldest) })
	return out, nil
}

// Classify inspects one recording directory.
func Classify(dir string, now time.Time, p Policy, locked LockProbe) (Entry, error) {
	e := Entry{Dir: dir, Session: filepath.Base(dir)}
	dfi, err := os.Stat(dir)
	if err != nil {
		return e, err
	}
	e.LastChange = dfi.ModTime()
	des, err := os.ReadDir(dir)
	if err != nil {
		return e, fmt.Errorf("inventory: cannot list %s: %w", dir, err)
	}
	subdir := ""
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, state.Prefix) {
			continue
		}
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		if fi.ModTime().After(e.LastChange) {
			e.LastChange = fi.ModTime()
		}
		if e.Oldest.IsZero() || fi.ModTime().Before(e.Oldest) {
			e.Oldest = fi.ModTime()
		}
		switch {
		case fi.IsDir():
			subdir = name
		case name == jibri.MetadataFile:
			e.HasMetadata = true
		case fi.Mode()&fs.ModeType == 0 && fi.Size() > 0:
			e.Files++
			e.Bytes += fi.Size()
		}
	}
	if e.Oldest.IsZero() {
		e.Oldest = dfi.ModTime()
	}
	st, err := state.Read(dir)
	if err != nil {
		e.LastError = err.Error()
	}
	e.Attempts, e.Manifest = st.Attempts, st.Manifest
	if st.LastError != "" {
		e.LastError = st.LastError
	}

	switch {
	case subdir != "":
		e.State, e.Reason = Invalid, "contains subdirectory "+subdir
	case locked != nil && locked(dir):
		e.State = Uploading
	case st.Status == state.StatusDone && e.Files == 0:
		e.State, e.Reason = Done, strings.Join(st.Leftovers, ", ")
	case e.Files == 0 && e.HasMetadata && st.Status == "":
		// Jibri itself removes a session directory without media.
		e.State, e.Reason = Invalid, "no media files"
	case st.Status == state.StatusFailed || st.Status == state.StatusDeadline || st.Status == state.StatusMismatch:
		e.Reason = string(st.Status)
		if p.MaxAttempts > 0 && st.Attempts >= p.MaxAttempts {
			e.State = Stuck
			break
		}
		e.ReadyAt = st.Updated.Add(RetryDelay(p, e.Session, st.Attempts))
		e.State = Failed
		if !now.Before(e.ReadyAt) {
			e.State = Pending
		}
	case e.HasMetadata:
		e.ReadyAt = e.LastChange.Add(p.Settle)
		e.State = Settling
		if !now.Before(e.ReadyAt) {
			e.State = Pending
		}
	case e.Files == 0:
		e.State, e.Reason = Recording, "no media yet"
		e.ReadyAt = time.Time{}
	default:
		e.ReadyAt = e.LastChange.Add(p.Orphan)
		e.State = Recording
		if !now.Before(e.ReadyAt) {
			e.State, e.Reason = Pending, "orphan: no metadata.json"
		}
	}
	return e, nil
}

// RetryDelay is the exponential backoff after attempts failures, with a
// jitter between 50% and 100% derived from the session, so that it is
// stable across scans and restarts but spreads recordings apart.
func RetryDelay(p Policy, session string, attempts int) time.Duration {
	if attempts < 1 {
		return 0
	}
	d := p.RetryBase
	for i := 1; i < attempts && d < p.RetryMax; i++ {
		d *= 2
	}
	if d > p.RetryMax {
		d = p.RetryMax
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", session, attempts)
	frac := 0.5 + float64(h.Sum32()%1000)/2000
	return time.Duration(float64(d) * frac)
}
