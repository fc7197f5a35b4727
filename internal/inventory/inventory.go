// Package inventory lists every recording directory under a recordings
// root and classifies it: still recording, settling, pending upload,
// uploading, failed (with the next retry time), stuck, done with
// leftovers, or not a recording. The watcher schedules from it and the
// status command prints it, so both always agree.
//
// Classification reads only directory entries, their sizes and mtimes, and
// the record finalize leaves (package recdir); it never opens media files.
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
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

// State of a recording directory.
type State string

// States, in the order a recording normally goes through them.
const (
	Recording  State = "recording"  // no metadata.json yet, files changing
	Settling   State = "settling"   // metadata.json present, waiting for the settle window
	Pending    State = "pending"    // ready to upload (or to finish a committed cleanup)
	Uploading  State = "uploading"  // a finalizer holds the lock
	Failed     State = "failed"     // last attempt failed; waiting for the retry time
	Stuck      State = "stuck"      // failed MaxAttempts times; needs an operator
	Kept       State = "kept"       // committed with --keep: local files stay on purpose
	Done       State = "done"       // committed; entries left on purpose (empty files, symlinks)
	Invalid    State = "invalid"    // not a recording directory (e.g. has subdirectories)
	Unreadable State = "unreadable" // could not be inspected; what it holds is unknown
)

// States lists every state, for metrics and summaries.
var States = []State{Recording, Settling, Pending, Uploading, Failed, Stuck, Kept, Done, Invalid, Unreadable}

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
	ReadyAt     time.Time `json:"ready_at,omitzero"`
	Attempts    int       `json:"attempts,omitempty"`
	Outcome     string    `json:"outcome,omitempty"` // of the last failed attempt: failed, deadline, mismatch, permanent
	LastError   string    `json:"last_error,omitempty"`
	Hint        string    `json:"hint,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Manifest    string    `json:"manifest,omitempty"`
	Committed   bool      `json:"committed,omitempty"`
	HandedOff   bool      `json:"handed_off,omitempty"`
	// Progress of an unfinished upload, from the record: parts stored of
	// parts in all (files not begun count zero of theirs).
	PartsStored int `json:"parts_stored,omitempty"`
	PartsTotal  int `json:"parts_total,omitempty"`
	// Unplayable lists the files finalize found no player can open, as
	// "name: why" (from the record; they are uploaded all the same).
	Unplayable []string `json:"unplayable,omitempty"`
}

// Age returns how long ago the oldest file was last written.
func (e Entry) Age(now time.Time) time.Duration { return now.Sub(e.Oldest) }

// Unsafe reports whether the entry may hold bytes that are not in S3 yet
// (or whose state is unknown): what ECS task protection must cover.
func (e Entry) Unsafe() bool {
	switch e.State {
	case Done, Invalid, Kept:
		return false
	}
	return true
}

// LockProbe reports whether a directory is locked by a finalizer.
type LockProbe func(dir string) bool

// Scan classifies every directory directly under root. Hidden entries
// (names starting with ".") are this project's own spool and are skipped.
// A directory that cannot be inspected is reported as Unreadable, with the
// error as its reason, and the others are classified as usual: one bad
// entry never hides the rest. The error is only for a root that cannot be
// listed, and then no entries are returned: a failed observation, not an
// empty one.
func Scan(root string, now time.Time, p Policy, locked LockProbe) ([]Entry, error) {
	des, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("inventory: cannot list %s: %w", root, err)
	}
	out := make([]Entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") || name == "lost+found" {
			continue
		}
		if !de.IsDir() {
			continue
		}
		e, err := Classify(filepath.Join(root, name), now, p, locked)
		if errors.Is(err, os.ErrNotExist) {
			continue // finalized and removed meanwhile
		}
		if err != nil {
			e.State, e.Reason = Unreadable, err.Error()
			if e.Oldest.IsZero() {
				e.Oldest = now
			}
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
	leftovers := 0
	for _, de := range des {
		name := de.Name()
		if recdir.IsOurs(name) {
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
		default:
			leftovers++
		}
	}
	if e.Oldest.IsZero() {
		e.Oldest = dfi.ModTime()
	}
	rec, found, err := recdir.Read(dir)
	if err != nil {
		e.LastError = err.Error()
	}
	e.Attempts, e.Manifest, e.Committed = rec.Attempts, rec.Manifest, rec.IsCommitted()
	e.Outcome, e.Hint, e.HandedOff = string(rec.Outcome), rec.Hint, rec.HandedOff
	e.PartsStored, e.PartsTotal = rec.Progress()
	e.Unplayable = unplayable(rec)
	if rec.LastError != "" {
		e.LastError = rec.LastError
	}

	switch {
	case subdir != "":
		e.State, e.Reason = Invalid, "contains subdirectory "+subdir
	case locked != nil && locked(dir):
		e.State = Uploading
	case rec.IsCommitted() && rec.Kept && e.Files > 0:
		e.State, e.Reason = Kept, "committed with --keep; run finalize without --keep to delete the local files"
	case rec.IsCommitted() && e.Files == 0 && (e.HasMetadata || leftovers == 0):
		// Committed, and its cleanup was cut short: finish it now.
		e.State, e.Reason = Pending, "committed; cleanup unfinished"
	case rec.IsCommitted() && e.Files == 0:
		e.State, e.Reason = Done, strings.Join(rec.Leftovers, ", ")
	case e.Files == 0 && e.HasMetadata && !found:
		// Jibri itself removes a session directory without media.
		e.State, e.Reason = Invalid, "no media files"
	case rec.HandedOff && e.Files > 0:
		// The hook gave Jibri back and left the rest to us: at once.
		e.State, e.Reason = Pending, "handed off by the hook"
	case found && rec.Attempts > 0 && !rec.Failed() && !rec.IsCommitted() && e.Files > 0:
		// A run began and left no outcome (killed): nobody holds it now.
		e.State, e.Reason = Pending, "interrupted run"
	case rec.Failed() && e.Files > 0:
		e.Reason = string(rec.Outcome)
		if rec.Hint != "" {
			e.Reason += ": " + rec.Hint
		}
		if p.MaxAttempts > 0 && rec.Attempts >= p.MaxAttempts {
			e.State = Stuck
			break
		}
		e.ReadyAt = rec.Updated.Add(RetryDelay(p, e.Session, rec.Attempts))
		if rec.Outcome == recdir.OutcomePermanent {
			// An operator must fix something first: retry slowly.
			e.ReadyAt = rec.Updated.Add(p.RetryMax)
		}
		e.State = Failed
		if !now.Before(e.ReadyAt) {
			e.State = Pending
		}
	case e.HasMetadata && e.Files > 0:
		e.ReadyAt = e.LastChange.Add(p.Settle)
		e.State = Settling
		if !now.Before(e.ReadyAt) {
			e.State = Pending
		}
	case e.Files == 0 && !e.HasMetadata && leftovers == 0:
		// Nothing but (maybe) our own files: a directory Jibri has just
		// made, or what a cleanup killed before its last unlink left.
		e.State, e.Reason = Recording, "no media yet"
		e.ReadyAt = e.LastChange.Add(p.Orphan)
		if !now.Before(e.ReadyAt) {
			e.State, e.Reason = Pending, "empty directory"
		}
	case e.Files == 0:
		e.State, e.Reason = Invalid, "no media files"
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

// unplayable lists the record's files flagged unplayable, by name.
func unplayable(rec *recdir.Record) []string {
	var out []string
	for name, f := range rec.Files {
		if f != nil && f.Unplayable != "" {
			out = append(out, name+": "+f.Unplayable)
		}
	}
	sort.Strings(out)
	return out
}
