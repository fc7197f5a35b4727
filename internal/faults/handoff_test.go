package faults

// Rows for the hand-off of long uploads from the hook to the watcher
// (issue 11): the hook gives Jibri back within --hold, the watcher
// continues without resending stored parts, and no fault loses anything.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/throttle"
)

// slowEnv puts a throttling proxy (rate bytes/s per connection) in front of
// the fault proxy and returns the environment that sends through it.
func slowEnv(t *testing.T, h *harness, rate int64, extra ...string) []string {
	t.Helper()
	u, _ := url.Parse(h.proxy.srv.URL)
	tp, err := throttle.Start(context.Background(), throttle.Options{Target: u.Host, Rate: rate, SocketBuffer: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Close() })
	return h.env(append([]string{"JIBRI_UPLOAD_ENDPOINT=http://" + tp.Addr(), "JIBRI_UPLOAD_IO_TIMEOUT=30s"}, extra...)...)
}

// startWatcher runs recwatch on root with a fast heartbeat and waits until
// the heartbeat is fresh.
func startWatcher(t *testing.T, env []string, root string, args ...string) *proc {
	t.Helper()
	w := startProc(t, recwatchBin, env, nil, append([]string{"--root", root, "--listen", "127.0.0.1:0", "--heartbeat", "500ms"}, args...)...)
	waitUntil(t, 10*time.Second, "the watcher's heartbeat", func() bool { _, ok := recdir.LiveWatcher(root, time.Now()); return ok })
	return w
}

// hook runs finalize as Jibri does and returns how long it held Jibri.
func hook(t *testing.T, env []string, dir string) (result, time.Duration) {
	t.Helper()
	start := time.Now()
	r := run(t, finalizeBin, env, nil, dir)
	return r, time.Since(start)
}

const holdEnv = "JIBRI_UPLOAD_HOLD=3s"

// The basic hand-off: the hook returns within the hold, the watcher
// commits, no part is sent twice.
func handOffBasic(t *testing.T, h *harness) row {
	root := t.TempDir()
	rec := newRecording(t, root, "handoff", map[string]int64{mediaName: 60 << 20}, "")
	env := slowEnv(t, h, 4<<20)
	h.proxy.setFault(nil)
	w := startWatcher(t, env, root)
	r, held := hook(t, append(env, holdEnv), rec.dir)
	if r.code != 0 || !strings.Contains(r.stdout, "to the watcher") {
		t.Fatalf("hook exit %d after %s\n%s", r.code, held, r.stderr)
	}
	if held > 4*time.Second {
		t.Errorf("the hook held Jibri %s with a 3 s hold", held)
	}
	waitUntil(t, 2*time.Minute, "the watcher to commit", func() bool { return gone(rec.dir) })
	w.stop(t)
	o := h.evaluate(t, rec)
	if n := h.proxy.count("part"); n != 12 {
		t.Errorf("%d part uploads for 12 parts: a part was sent twice", n)
	}
	return row{fault: "hand-off within the hold (no fault)", injection: "60 MiB at 4 MiB/s per connection, hold 3 s, recwatch running", outcome: o,
		parts: fmt.Sprintf("%d of 12", h.proxy.count("part")), err: fmt.Sprintf("none: hook held Jibri %.1f s", held.Seconds())}
}

// kill -9 of the hook during its hold: the watcher finds the interrupted
// run and finishes it.
func handOffHookKilled(t *testing.T, h *harness) row {
	root := t.TempDir()
	rec := newRecording(t, root, "handoff-hook-killed", map[string]int64{mediaName: 40 << 20}, "")
	env := slowEnv(t, h, 4<<20)
	h.proxy.setFault(nil)
	w := startWatcher(t, env, root, "--settle", "1h")
	p := startProc(t, finalizeBin, append(env, holdEnv), nil, rec.dir)
	time.Sleep(time.Second)
	p.cmd.Process.Kill()
	<-p.done
	waitUntil(t, 2*time.Minute, "the watcher to commit", func() bool { return gone(rec.dir) })
	w.stop(t)
	o := h.evaluate(t, rec)
	return row{fault: "hand-off: kill -9 of the hook during the hold", injection: "SIGKILL 1 s into a 3 s hold; recwatch (settle 1 h) running", outcome: o,
		parts: fmt.Sprintf("%d for 8 parts", h.proxy.count("part")), err: "none: the watcher continued the interrupted run at once"}
}

// The watcher is killed right after a hand-off and started again.
func handOffWatcherKilled(t *testing.T, h *harness) row {
	root := t.TempDir()
	rec := newRecording(t, root, "handoff-watcher-killed", map[string]int64{mediaName: 40 << 20}, "")
	env := slowEnv(t, h, 4<<20)
	h.proxy.setFault(nil)
	w := startWatcher(t, env, root)
	if r, _ := hook(t, append(env, holdEnv), rec.dir); r.code != 0 {
		t.Fatalf("hook exit %d\n%s", r.code, r.stderr)
	}
	time.Sleep(300 * time.Millisecond)
	w.cmd.Process.Kill()
	<-w.done
	if gone(rec.dir) {
		t.Fatal("committed before the kill: the row shows nothing")
	}
	w2 := startWatcher(t, env, root)
	waitUntil(t, 2*time.Minute, "the restarted watcher to commit", func() bool { return gone(rec.dir) })
	w2.stop(t)
	o := h.evaluate(t, rec)
	return row{fault: "hand-off: watcher killed right after it and restarted", injection: "SIGKILL of recwatch 0.3 s after the hook returned, then a new recwatch", outcome: o,
		parts: fmt.Sprintf("%d for 8 parts", h.proxy.count("part")), err: "none: the new watcher resumed the upload"}
}

// S3 answers nothing but 503 across the hand-off.
func handOffS3Down(t *testing.T, h *harness) row {
	root := t.TempDir()
	rec := newRecording(t, root, "handoff-s3-down", map[string]int64{mediaName: 40 << 20}, "")
	env := slowEnv(t, h, 4<<20, "JIBRI_UPLOAD_RETRY_BASE=1s", "JIBRI_UPLOAD_RETRY_MAX=2s")
	var down atomic.Bool
	h.proxy.setFault(func(kind string, n int, w http.ResponseWriter, r *http.Request) bool {
		if down.Load() {
			slowDown(w)
			return true
		}
		return false
	})
	w := startWatcher(t, env, root, "--retry-after", "1s", "--retry-after-max", "2s")
	time.AfterFunc(1500*time.Millisecond, func() { down.Store(true) })
	time.AfterFunc(8*time.Second, func() { down.Store(false) })
	r, held := hook(t, append(env, holdEnv), rec.dir)
	if r.code != 0 && r.code != 4 {
		t.Fatalf("hook exit %d\n%s", r.code, r.stderr)
	}
	waitUntil(t, 3*time.Minute, "the watcher to commit", func() bool { return gone(rec.dir) })
	w.stop(t)
	o := h.evaluate(t, rec)
	return row{fault: "hand-off: S3 down across it", injection: "503 SlowDown for everything from 1.5 s to 8 s (hold 3 s)", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: fmt.Sprintf("none: hook exit %d after %.1f s, the watcher retried", r.code, held.Seconds())}
}

// A hung watcher (SIGSTOP) stops refreshing its heartbeat: the hook sees it
// stale and uploads everything itself.
func handOffWatcherHung(t *testing.T, h *harness) row {
	root := t.TempDir()
	rec := newRecording(t, root, "handoff-watcher-hung", map[string]int64{mediaName: 12 << 20}, "")
	env := slowEnv(t, h, 4<<20)
	h.proxy.setFault(nil)
	w := startWatcher(t, env, root)
	w.cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(2 * time.Second) // three heartbeat intervals and more
	r, held := hook(t, append(env, holdEnv), rec.dir)
	w.cmd.Process.Signal(syscall.SIGCONT)
	w.stop(t)
	if r.code != 0 || strings.Contains(r.stdout, "to the watcher") || !gone(rec.dir) {
		t.Fatalf("hook exit %d after %s, dir gone %v\n%s", r.code, held, gone(rec.dir), r.stderr)
	}
	o := h.evaluate(t, rec)
	return row{fault: "hand-off: watcher hung (SIGSTOP), heartbeat stale", injection: "recwatch stopped 2 s before the hook (heartbeat 0.5 s)", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: fmt.Sprintf("none: no hand-off, the hook uploaded it in %.1f s", held.Seconds())}
}

// Two Jibri recordings handed off at once.
func handOffTwo(t *testing.T, h *harness) row {
	root := t.TempDir()
	a := newRecording(t, root, "handoff-a", map[string]int64{mediaName: 30 << 20}, "")
	b := newRecording(t, root, "handoff-b", map[string]int64{mediaName: 30 << 20}, "")
	env := slowEnv(t, h, 4<<20)
	h.proxy.setFault(nil)
	w := startWatcher(t, env, root)
	var wg sync.WaitGroup
	var ra, rb result
	var helda, heldb time.Duration
	henv := append(append([]string(nil), env...), holdEnv) // one slice, read by both
	wg.Add(2)
	go func() { defer wg.Done(); ra, helda = hook(t, henv, a.dir) }()
	go func() { defer wg.Done(); rb, heldb = hook(t, henv, b.dir) }()
	wg.Wait()
	if ra.code != 0 || rb.code != 0 {
		t.Fatalf("hooks exit %d and %d\n%s\n%s", ra.code, rb.code, ra.stderr, rb.stderr)
	}
	waitUntil(t, 3*time.Minute, "both recordings", func() bool { return gone(a.dir) && gone(b.dir) })
	w.stop(t)
	o := h.evaluate(t, a, b)
	if n := h.proxy.count("part"); n != 12 {
		t.Errorf("%d part uploads for 12 parts", n)
	}
	return row{fault: "hand-off: two recordings at once", injection: "two hooks with a 3 s hold, one recwatch (--uploads 1)", outcome: o,
		parts: fmt.Sprintf("%d of 12", h.proxy.count("part")), err: fmt.Sprintf("none: hooks held Jibri %.1f s and %.1f s", helda.Seconds(), heldb.Seconds())}
}

// A task stop: SIGTERM to the hook and the watcher during the hand-off;
// the next watcher resumes it.
func handOffTaskStop(t *testing.T, h *harness) row {
	root := t.TempDir()
	rec := newRecording(t, root, "handoff-task-stop", map[string]int64{mediaName: 60 << 20}, "")
	env := slowEnv(t, h, 4<<20)
	h.proxy.setFault(nil)
	w := startWatcher(t, env, root, "--drain-timeout", "1s")
	p := startProc(t, finalizeBin, append(env, holdEnv), nil, rec.dir)
	time.Sleep(2 * time.Second) // in the hold, parts in flight
	p.cmd.Process.Signal(syscall.SIGTERM)
	w.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	<-w.done
	if gone(rec.dir) {
		t.Fatal("committed before the stop: the row shows nothing")
	}
	mid := h.evaluate(t, rec)
	w2 := startWatcher(t, env, root, "--retry-after", "1ms", "--retry-after-max", "1ms")
	waitUntil(t, 2*time.Minute, "the next watcher to commit", func() bool { return gone(rec.dir) })
	w2.stop(t)
	o := h.evaluate(t, rec)
	o.deletedUnverified += mid.deletedUnverified
	return row{fault: "hand-off: task stop (SIGTERM to hook and watcher) during it", injection: "SIGTERM to both 2 s into a 3 s hold, then a new recwatch", outcome: o,
		parts: fmt.Sprintf("%d for 12 parts", h.proxy.count("part")), err: fmt.Sprintf("none: hook exit %d; the next watcher resumed it", p.cmd.ProcessState.ExitCode())}
}
