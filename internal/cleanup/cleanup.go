// Package cleanup deletes a recording's local files once S3 holds them.
//
// Remove accepts only upload.Verified values, which package upload creates
// after S3 confirmed size and checksum: code that tries to delete an
// unverified file does not compile. It deletes exactly the verified files
// (after checking each is still the same file, unchanged), then Jibri's
// metadata.json and this project's state files, then the directory if it is
// empty. It never deletes anything else: empty files, refused entries and
// files that appeared after the scan stay, and the directory with them.
package cleanup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jitsi-recorder/jibri-s3/internal/jibri"
	"github.com/jitsi-recorder/jibri-s3/internal/lock"
	"github.com/jitsi-recorder/jibri-s3/internal/state"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

// ErrRefused reports that nothing was deleted because a precondition failed
// (directory not writable, a verified file changed since verification).
var ErrRefused = errors.New("cleanup: refused, nothing deleted")

// Report says what was removed and what stays.
type Report struct {
	Deleted    []string // file names
	DirRemoved bool
	Leftovers  []string // entries kept on purpose (empty, refused, new)
	Pending    []string // non-empty regular files that were not uploaded
}

// Options adjust Remove.
type Options struct {
	// AfterDelete is called after each verified file is deleted
	// (fault-injection tests kill the process there).
	AfterDelete func(name string)
}

// Remove deletes the verified files of the recording in dir. manifestKey is
// recorded in the state file when entries are left behind, so the watcher
// and the status command know the recording is committed.
func Remove(dir string, files []upload.Verified, manifestKey string, opts Options) (Report, error) {
	var rep Report
	dir = filepath.Clean(dir)
	// Preflight: every check before the first unlink, so a failure leaves
	// the recording whole rather than half-deleted.
	if err := unix.Faccessat(unix.AT_FDCWD, dir, unix.W_OK|unix.X_OK, unix.AT_EACCESS); err != nil {
		return rep, fmt.Errorf("%w: directory %s is not writable: %v", ErrRefused, dir, err)
	}
	for _, v := range files {
		m := v.Media()
		if filepath.Dir(m.Path) != dir {
			return rep, fmt.Errorf("%w: %s is not inside %s", ErrRefused, m.Path, dir)
		}
		fi, err := os.Lstat(m.Path)
		if err != nil {
			return rep, fmt.Errorf("%w: cannot stat %s: %v", ErrRefused, m.Name, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.Mode().IsRegular() || uint64(st.Dev) != m.Dev || st.Ino != m.Ino || fi.Size() != m.Size || !fi.ModTime().Equal(m.ModTime) {
			return rep, fmt.Errorf("%w: %s changed after it was verified", ErrRefused, m.Name)
		}
	}

	for _, v := range files {
		if err := os.Remove(v.Media().Path); err != nil {
			return rep, fmt.Errorf("cleanup: cannot delete %s (already deleted: %s): %w", v.Media().Name, strings.Join(rep.Deleted, ", "), err)
		}
		rep.Deleted = append(rep.Deleted, v.Media().Name)
		if opts.AfterDelete != nil {
			opts.AfterDelete(v.Media().Name)
		}
	}

	// What is left decides whether the directory goes.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return rep, fmt.Errorf("cleanup: cannot list %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == jibri.MetadataFile || strings.HasPrefix(name, state.Prefix) {
			continue
		}
		rep.Leftovers = append(rep.Leftovers, name)
		if info, err := os.Lstat(filepath.Join(dir, name)); err == nil && info.Mode().IsRegular() && info.Size() > 0 {
			rep.Pending = append(rep.Pending, name)
		}
	}
	if len(rep.Leftovers) > 0 {
		// Keep metadata.json with whatever stays: a new media file still
		// needs it, and the operator sees what the recording was.
		if len(rep.Pending) == 0 {
			st, _ := state.Read(dir)
			st.Status, st.Manifest, st.Leftovers, st.LastError, st.Updated = state.StatusDone, manifestKey, rep.Leftovers, "", time.Now()
			if err := state.Write(dir, st); err != nil {
				return rep, fmt.Errorf("cleanup: %w", err)
			}
		}
		return rep, nil
	}
	for _, name := range []string{jibri.MetadataFile, state.File, lock.InfoFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return rep, fmt.Errorf("cleanup: cannot delete %s: %w", name, err)
		}
	}
	// Stray temp files of our own atomic writes.
	if rest, err := filepath.Glob(filepath.Join(dir, state.Prefix+"*")); err == nil {
		for _, p := range rest {
			_ = os.Remove(p)
		}
	}
	if err := os.Remove(dir); err != nil {
		return rep, fmt.Errorf("cleanup: cannot remove directory %s: %w", dir, err)
	}
	rep.DirRemoved = true
	return rep, nil
}

// RemoveCommitted finishes the cleanup of a directory whose recording is
// already committed (state done) and that holds no media any more: it
// removes metadata.json, the state files and the directory if nothing else
// is left.
func RemoveCommitted(dir string) (Report, error) {
	st, err := state.Read(dir)
	if err != nil {
		return Report{}, err
	}
	if st.Status != state.StatusDone {
		return Report{}, fmt.Errorf("%w: %s is not marked done", ErrRefused, dir)
	}
	return Remove(dir, nil, st.Manifest, Options{})
}
