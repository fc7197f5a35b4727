// Package recording scans a Jibri recording directory: which files are
// media to upload, which entries are refused (symlinks, devices, FIFOs) or
// kept (empty files), and what metadata.json says about the meeting.
//
// Scanning never follows a symlink and never reads media content.
package recording

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/jibri"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

// ErrNotRecording reports a directory that does not look like a Jibri
// recording (it holds subdirectories, or neither metadata.json nor a file
// named the way Jibri names media).
var ErrNotRecording = errors.New("recording: not a jibri recording directory")

// ErrNoMedia reports a recording directory with nothing to upload.
var ErrNoMedia = errors.New("recording: no media files to upload")

// MetadataStatus says what happened to metadata.json.
type MetadataStatus string

// Metadata statuses.
const (
	MetadataOK      MetadataStatus = "ok"
	MetadataMissing MetadataStatus = "missing"
	MetadataCorrupt MetadataStatus = "corrupt"
)

// FallbackRoom is the room used when neither metadata nor file names tell.
const FallbackRoom = "unknown-room"

// Media is one regular file to upload, identified so that a later step can
// tell whether it is still the same file with the same content length.
type Media struct {
	Name    string
	Path    string
	Size    int64
	ModTime time.Time
	Dev     uint64
	Ino     uint64
}

// Refusal is a directory entry that is never uploaded or touched.
type Refusal struct {
	Name   string
	Reason string
}

// Recording is the result of a scan.
type Recording struct {
	Dir     string
	Session string
	Media   []Media
	Empty   []string  // zero-byte files, reported and kept
	Refused []Refusal // symlinks, devices, FIFOs, sockets, subdirectories
	HasMeta bool      // metadata.json is present (even if corrupt)

	Metadata       *jibri.Metadata // nil unless MetadataStatus is ok
	MetadataStatus MetadataStatus
	MetadataError  string

	Tenant string
	Room   string
	Start  time.Time // recording start (from the media name, else mtime)
}

// Bytes returns the total size of the media.
func (r *Recording) Bytes() int64 {
	var n int64
	for _, m := range r.Media {
		n += m.Size
	}
	return n
}

// Options changes what a scan accepts.
type Options struct {
	// Force accepts a directory without metadata.json whose files are not
	// named like Jibri media (a manual upload of a renamed recording).
	Force bool
	// Known: the directory holds a record of an earlier run, so it is a
	// recording whatever its remaining files are named.
	Known bool
}

// Scan inspects dir. It returns ErrNotRecording or ErrNoMedia (wrapped, with
// the Recording filled in as far as it got) when there is nothing to do.
func Scan(dir string, opts Options) (*Recording, error) {
	dir = filepath.Clean(dir)
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%w: %s is a symbolic link (give the real path)", ErrNotRecording, dir)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNotRecording, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("recording: cannot list %s: %w", dir, err)
	}
	r := &Recording{Dir: dir, Session: filepath.Base(dir), MetadataStatus: MetadataMissing}
	var subdirs []string
	for _, e := range entries {
		name := e.Name()
		if recdir.IsOurs(name) {
			continue // our own record, lock info and temp files
		}
		p := filepath.Join(dir, name)
		info, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("recording: cannot stat %s: %w", p, err)
		}
		mode := info.Mode()
		switch {
		case mode.IsDir():
			subdirs = append(subdirs, name)
			r.Refused = append(r.Refused, Refusal{name, "subdirectory"})
		case mode&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			r.Refused = append(r.Refused, Refusal{name, fmt.Sprintf("symbolic link to %q, not followed", target)})
		case !mode.IsRegular():
			r.Refused = append(r.Refused, Refusal{name, "not a regular file (" + typeName(mode) + ")"})
		case name == jibri.MetadataFile:
			r.HasMeta = true
			r.readMetadata(p)
		case info.Size() == 0:
			r.Empty = append(r.Empty, name)
		default:
			st := info.Sys().(*syscall.Stat_t)
			r.Media = append(r.Media, Media{Name: name, Path: p, Size: info.Size(), ModTime: info.ModTime(), Dev: uint64(st.Dev), Ino: st.Ino})
		}
	}
	sort.Slice(r.Media, func(i, j int) bool { return r.Media[i].Name < r.Media[j].Name })
	r.derive()

	if len(subdirs) > 0 {
		return r, fmt.Errorf("%w: %s contains subdirectories (%s); Jibri writes only files into a session directory", ErrNotRecording, dir, strings.Join(subdirs, ", "))
	}
	if !r.HasMeta && !opts.Force && !opts.Known && !r.hasJibriMedia() {
		return r, fmt.Errorf("%w: %s has no metadata.json and no file named <room>_<yyyy-mm-dd-hh-mm-ss>.<ext> (use --force to upload it anyway)", ErrNotRecording, dir)
	}
	if len(r.Media) == 0 {
		return r, fmt.Errorf("%w in %s", ErrNoMedia, dir)
	}
	return r, nil
}

func (r *Recording) hasJibriMedia() bool {
	for _, m := range r.Media {
		if _, _, ok := jibri.ParseMediaName(m.Name); ok {
			return true
		}
	}
	return false
}

func (r *Recording) readMetadata(p string) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		r.MetadataStatus, r.MetadataError = MetadataCorrupt, fmt.Sprintf("cannot open metadata.json: %v", err)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, jibri.MaxMetadataSize+1))
	if err != nil {
		r.MetadataStatus, r.MetadataError = MetadataCorrupt, fmt.Sprintf("cannot read metadata.json: %v", err)
		return
	}
	m, err := jibri.ParseMetadata(data)
	if err != nil {
		r.MetadataStatus, r.MetadataError = MetadataCorrupt, err.Error()
		return
	}
	r.Metadata, r.MetadataStatus = m, MetadataOK
}

// derive fills Room, Tenant and Start from metadata and media names.
func (r *Recording) derive() {
	if r.Metadata != nil && r.Metadata.Room != "" {
		r.Room, r.Tenant = r.Metadata.Room, r.Metadata.Tenant
	}
	for _, m := range r.Media {
		if room, start, ok := jibri.ParseMediaName(m.Name); ok {
			if r.Room == "" {
				r.Room = room
			}
			r.Start = start
			break
		}
	}
	if r.Start.IsZero() {
		for _, m := range r.Media {
			if r.Start.IsZero() || m.ModTime.Before(r.Start) {
				r.Start = m.ModTime.UTC()
			}
		}
	}
	if r.Room == "" {
		r.Room = FallbackRoom
	}
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return m.Type().String()
}
