package recwatch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/finalize"
	"github.com/jitsi-recorder/jibri-s3/internal/inventory"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

// lockedFinalizer answers as finalize does when the hook holds the lock.
type lockedFinalizer struct{ calls atomic.Int32 }

func (l *lockedFinalizer) Run(ctx context.Context, dir string) (*finalize.Result, error) {
	l.calls.Add(1)
	return nil, fmt.Errorf("%w: lock: recording is locked by another finalizer (held by pid=1)", finalize.ErrLocked)
}

// wantLog records every protection request.
type wantLog struct {
	mu    sync.Mutex
	wants []bool
}

func (w *wantLog) Want(ctx context.Context, protect bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.wants = append(w.wants, protect)
	return nil
}

func (w *wantLog) Protected() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.wants) > 0 && w.wants[len(w.wants)-1]
}

func (w *wantLog) snapshot() []bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]bool(nil), w.wants...)
}

func quietDaemon(root string, fin Finalizer, p Protector, logs *bytes.Buffer) *Daemon {
	log := zerolog.New(&lockedWriter{w: logs})
	return New(Options{Root: root, Rescan: 20 * time.Millisecond, Debounce: 5 * time.Millisecond,
		Policy: inventory.Policy{Settle: time.Millisecond, Orphan: time.Millisecond, MaxAttempts: 5, RetryBase: time.Second, RetryMax: time.Minute}},
		fin, log, NewMetrics(), p, metrics.Discard{}, nil)
}

// Defect 4: a recording whose lock another finalizer holds is retried with
// backoff and logged once, not attempted in a tight loop.
func TestLockedRecordingBacksOff(t *testing.T) {
	root := t.TempDir()
	recording(t, root, "held-by-hook", 100, true, true)
	fin := &lockedFinalizer{}
	var logs bytes.Buffer
	stop := start(quietDaemon(root, fin, nil, &logs))
	time.Sleep(2500 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(logs.String(), "another finalizer holds")
	t.Logf("%d attempts and %d log lines in 2.5 s", fin.calls.Load(), lines)
	if n := fin.calls.Load(); n < 2 || n > 3 {
		t.Fatalf("%d attempts in 2.5 s: want the backoff's 2 or 3 (t=0, 1 s, 3 s)", n)
	}
	if lines != 1 {
		t.Fatalf("%d log lines for the same locked recording, want 1:\n%s", lines, logs.String())
	}
}

// Defect 3: a scan that fails (root unreadable, gone) is a failed
// observation: task protection stays on while recordings may be pending.
func TestFailedScanKeepsProtection(t *testing.T) {
	parent := t.TempDir()
	root := parent + "/recordings"
	os.Mkdir(root, 0o755)
	recording(t, root, "pending", 100, true, true)
	p := &wantLog{}
	var logs bytes.Buffer
	stop := start(quietDaemon(root, &lockedFinalizer{}, p, &logs))
	waitFor(t, 2*time.Second, "protection", p.Protected)
	if err := os.Rename(root, parent+"/moved"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i, w := range p.snapshot() {
		if !w {
			t.Fatalf("protection released at request %d of %d after the scan failed", i+1, len(p.snapshot()))
		}
	}
	if n := strings.Count(logs.String(), "cannot scan recordings root"); n != 1 {
		t.Fatalf("%d scan-failure log lines, want 1 (then rate-limited)", n)
	}
}

// scriptedFinalizer answers ErrLocked for its first locked calls, then
// success, and records when each call came.
type scriptedFinalizer struct {
	locked int
	mu     sync.Mutex
	calls  []time.Time
}

func (s *scriptedFinalizer) Run(ctx context.Context, dir string) (*finalize.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, time.Now())
	if len(s.calls) <= s.locked {
		return nil, fmt.Errorf("%w: held by the hook", finalize.ErrLocked)
	}
	return &finalize.Result{Dir: dir}, nil
}

func (s *scriptedFinalizer) snapshot() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.calls...)
}

// A recording in lock backoff (the hook was uploading it) is taken at once
// when the hook hands it off, not after the backoff.
func TestHandOffBypassesLockBackoff(t *testing.T) {
	root := t.TempDir()
	dir := recording(t, root, "handed", 100, true, true)
	if err := recdir.Save(dir, &recdir.Record{Attempts: 1}); err != nil { // the hook's run, in progress
		t.Fatal(err)
	}
	fin := &scriptedFinalizer{locked: 2}
	var logs bytes.Buffer
	stop := start(quietDaemon(root, fin, nil, &logs))
	defer stop()
	waitFor(t, 3*time.Second, "two locked attempts", func() bool { return len(fin.snapshot()) >= 2 })
	// Now in a 2 s backoff. The hook hands off.
	handedAt := time.Now()
	if err := recdir.Save(dir, &recdir.Record{Attempts: 1, HandedOff: true, HandedOffAt: handedAt}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "the continuation", func() bool { return len(fin.snapshot()) >= 3 })
	if d := fin.snapshot()[2].Sub(handedAt); d > time.Second {
		t.Fatalf("continued %s after the hand-off: the lock backoff was not bypassed", d)
	}
}
