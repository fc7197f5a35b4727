package recwatch

import "time"

// Backoff for a recording another finalizer holds (the hook uploading it,
// a manual run): the watcher looks again after lockedBase, doubling up to
// lockedMax, and logs the first refusal only.
const (
	lockedBase = time.Second
	lockedMax  = time.Minute
)

// busyDirs remembers recordings whose lock another process held, so the
// watcher neither spins on them nor logs each refusal. Only the daemon's
// loop goroutine uses it.
type busyDirs struct {
	m map[string]*busyDir
}

type busyDir struct {
	next   time.Time
	delay  time.Duration
	logged bool
}

func newBusyDirs() busyDirs { return busyDirs{m: map[string]*busyDir{}} }

// locked records that dir was locked at now.
func (b busyDirs) locked(dir string, now time.Time) {
	e := b.m[dir]
	if e == nil {
		e = &busyDir{delay: lockedBase}
		b.m[dir] = e
	} else {
		e.delay = min(2*e.delay, lockedMax)
	}
	e.next = now.Add(e.delay)
}

// first reports whether this is the first refusal since dir was last free
// (the one worth a log line).
func (b busyDirs) first(dir string) bool {
	e := b.m[dir]
	if e == nil || e.logged {
		return false
	}
	e.logged = true
	return true
}

// ready reports whether dir may be tried at now.
func (b busyDirs) ready(dir string, now time.Time) bool {
	e := b.m[dir]
	return e == nil || !now.Before(e.next)
}

// known reports whether dir was found locked and has not been cleared.
func (b busyDirs) known(dir string) bool { _, ok := b.m[dir]; return ok }

// until returns when dir may be tried again.
func (b busyDirs) until(dir string) time.Time {
	if e := b.m[dir]; e != nil {
		return e.next
	}
	return time.Time{}
}

// clear forgets dir (it was finalized, failed for another reason, or is
// gone).
func (b busyDirs) clear(dir string) { delete(b.m, dir) }
