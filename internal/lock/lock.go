// Package lock gives one process at a time exclusive ownership of a
// recording directory, so the Jibri hook and the watcher never upload or
// delete the same recording twice.
//
// The lock is flock(2) on the directory itself. Locking the directory, not a
// file inside it, means the lock works in a read-only directory, leaves no
// lock file to race on while the directory is being removed, and cannot be
// taken on a directory that was already finalized and removed: a process
// that opened the directory before it was removed sees, once it holds the
// lock, that it no longer exists. The holder also writes an informational
// file (InfoFile) naming itself, when the directory is writable.
package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

// InfoFile names the holder of the lock (pid, host, start time); package
// recdir owns the name.
const InfoFile = recdir.LockInfoFile

// ErrLocked reports that another process holds the lock.
var ErrLocked = errors.New("lock: recording is locked by another finalizer")

// ErrGone reports that the directory disappeared (finalized by another
// process) before the lock was taken.
var ErrGone = errors.New("lock: recording directory no longer exists")

// Lock is a held lock on a directory.
type Lock struct {
	dir string
	f   *os.File
}

// Acquire takes the lock without waiting. It returns ErrLocked (with the
// holder's details when known) if another process holds it, and ErrGone if
// the directory does not exist or was removed meanwhile.
func Acquire(dir string) (*Lock, error) { return acquire(dir, true) }

// AcquireWait is Acquire, retried for up to wait while another process
// holds the lock: a status probe (IsLocked) holds it for microseconds, and
// a hook starting at that instant must not give up. It returns ErrLocked
// when the lock is still held after wait, and ctx's error when ctx ends.
func AcquireWait(ctx context.Context, dir string, wait time.Duration) (*Lock, error) {
	deadline := time.Now().Add(wait)
	delay := 5 * time.Millisecond
	for {
		l, err := acquire(dir, true)
		if !errors.Is(err, ErrLocked) || !time.Now().Before(deadline) {
			return l, err
		}
		t := time.NewTimer(min(delay, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lock: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

func acquire(dir string, writeInfo bool) (*Lock, error) {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrGone, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("lock: cannot open %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			if holder := Holder(dir); holder != "" {
				return nil, fmt.Errorf("%w (held by %s)", ErrLocked, holder)
			}
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock: cannot lock %s: %w", dir, err)
	}
	// The directory may have been removed (and maybe recreated) between open
	// and flock: the lock only counts if the path still names what we locked.
	held, err1 := f.Stat()
	now, err2 := os.Stat(dir)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) || held.Sys().(*syscall.Stat_t).Nlink == 0 {
		f.Close()
		return nil, fmt.Errorf("%w: %s", ErrGone, dir)
	}
	l := &Lock{dir: dir, f: f}
	if !writeInfo {
		return l, nil
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid=%d host=%s since=%s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	// Informational only; a read-only directory still gets the lock.
	_ = os.WriteFile(filepath.Join(dir, InfoFile), []byte(info), 0o644)
	return l, nil
}

// Holder returns the content of the info file, if any, for error messages.
func Holder(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, InfoFile))
	if err != nil || len(b) > 256 {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// HolderPID returns the pid recorded in the info file, or 0.
func HolderPID(dir string) int {
	for _, f := range strings.Fields(Holder(dir)) {
		if v, ok := strings.CutPrefix(f, "pid="); ok {
			pid, _ := strconv.Atoi(v)
			return pid
		}
	}
	return 0
}

// IsLocked reports whether some process holds the lock on dir right now.
func IsLocked(dir string) bool {
	l, err := acquire(dir, false)
	if err != nil {
		return errors.Is(err, ErrLocked)
	}
	l.release(false)
	return false
}

// Release drops the lock and removes the info file if the directory still
// exists.
func (l *Lock) Release() { l.release(true) }

func (l *Lock) release(removeInfo bool) {
	if l == nil || l.f == nil {
		return
	}
	if removeInfo {
		_ = os.Remove(filepath.Join(l.dir, InfoFile))
	}
	_ = l.f.Close() // closing the descriptor releases the flock
	l.f = nil
}
