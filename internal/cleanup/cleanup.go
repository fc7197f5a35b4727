// Package cleanup deletes a recording's local files once S3 holds them.
//
// Remove accepts only upload.Verified values, which package upload creates
// after S3 confirmed size and checksum: code that tries to delete an
// unverified file does not compile. It deletes exactly the verified files
// (after checking each is still the same file, unchanged), then Jibri's
// metadata.json unless a file that still needs it remains, then this
// project's own files by the exact names package recdir lists (the record
// last), then the directory if it is empty. It never deletes anything
// else: empty files, refused entries and files that appeared after the
// scan stay, and the directory with them.
package cleanup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/jitsi-recorder/jibri-s3/internal/jibri"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

// ErrRefused reports that nothing was deleted because a precondition failed
// (directory not writable, a verified file changed since verification).
var ErrRefused = errors.New("cleanup: refused, nothing deleted")

// Report says what was removed and what stays.
type Report struct {
	Deleted    []string // media file names
	MetaGone   bool     // metadata.json was deleted (or was not there)
	DirRemoved bool
	Leftovers  []string // entries kept on purpose (empty, refused, new)
	Pending    []string // non-empty regular files that were not uploaded
}

// Options adjust Remove.
type Options struct {
	// AfterDelete is called after each deletion of a verified file or of
	// metadata.json (fault-injection tests kill the process there).
	AfterDelete func(name string)
}

// Remove deletes the verified files of the committed recording in dir and
// what is left of it that only this recording needed. files may be empty
// (finishing the cleanup of a recording committed earlier). The caller
// must not write the record afterwards unless Leftovers is non-empty.
func Remove(dir string, files []upload.Verified, opts Options) (Report, error) {
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

	// What is left decides whether metadata.json and the directory go.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return rep, fmt.Errorf("cleanup: cannot list %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == jibri.MetadataFile || recdir.IsOurs(name) {
			continue
		}
		rep.Leftovers = append(rep.Leftovers, name)
		if info, err := os.Lstat(filepath.Join(dir, name)); err == nil && info.Mode().IsRegular() && info.Size() > 0 {
			rep.Pending = append(rep.Pending, name)
		}
	}
	if len(rep.Pending) > 0 {
		// A file that appeared during the upload still needs metadata.json.
		return rep, nil
	}
	// The manifest holds metadata.json, filtered; the file itself may hold
	// Jibri's upload_credentials in plain text: it never stays behind a
	// committed recording.
	if err := os.Remove(filepath.Join(dir, jibri.MetadataFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return rep, fmt.Errorf("cleanup: cannot delete %s: %w", jibri.MetadataFile, err)
	}
	rep.MetaGone = true
	if opts.AfterDelete != nil {
		opts.AfterDelete(jibri.MetadataFile)
	}
	if len(rep.Leftovers) > 0 {
		return rep, nil
	}
	if err := recdir.RemoveOurs(dir); err != nil {
		return rep, fmt.Errorf("cleanup: %w", err)
	}
	if err := os.Remove(dir); err != nil {
		return rep, fmt.Errorf("cleanup: cannot remove directory %s: %w", dir, err)
	}
	rep.DirRemoved = true
	return rep, nil
}
