package faults

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
)

const mediaName = "room_2026-11-24-10-00-00.mp4"

// TestFaultSuite injects every fault, checks that nothing is lost, and
// prints the table (also written to $FAULTS_REPORT when set).
func TestFaultSuite(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	h := &harness{srv: srv, bucket: srv.Bucket(t, "recordings"), client: srv.Client(t)}
	h.proxy = newProxy(srv.Endpoint)
	defer h.proxy.close()

	var rows []row
	add := func(name string, f func(t *testing.T, h *harness) row) {
		t.Run(name, func(t *testing.T) {
			r := f(t, h)
			if r.deletedUnverified != 0 {
				t.Errorf("%s: %d file(s) deleted without being in S3", r.fault, r.deletedUnverified)
			}
			if r.duplicates != 0 {
				t.Errorf("%s: %d duplicate object(s)", r.fault, r.duplicates)
			}
			rows = append(rows, r)
		})
	}
	for _, stage := range []struct{ name, fp string }{
		{"during a part upload", "part-uploaded:3"},
		{"after the last part, before completion", "before-complete"},
		{"after completion, before verification", "after-complete"},
		{"after verification, before the manifest", "after-verify"},
	} {
		add("kill9 "+stage.fp, func(t *testing.T, h *harness) row { return killAt(t, h, stage.name, stage.fp) })
	}
	add("kill9 during-cleanup", killDuringCleanup)
	add("connection reset", connectionReset)
	add("stall", stall)
	add("slowdown", slowDownScenario)
	add("internal error", internalErrorScenario)
	add("minio down a minute", minioDown)
	add("unreadable media", unreadable)
	add("truncated during upload", truncated)
	add("appended during upload", appended)
	add("record and lock unwritable", unwritableDir)
	add("lock info file blocked", lockInfoBlocked)
	add("full disk", fullDisk)
	add("hostile names", hostileNames)
	add("symlink outside", symlinkOutside)
	add("fifo", fifo)
	add("10 MB metadata", hugeMetadata)
	add("deeply nested metadata", nestedMetadata)
	add("hook and watcher", hookAndWatcher)
	add("two watchers", twoWatchers)
	add("name collision across an interrupted cleanup", nameCollision)
	add("slow steady link", slowLink)
	add("unreadable session directory", unreadableSession)
	add("hook holds the lock while S3 stalls", hookHoldsLock)
	add("long and non-ASCII rooms", longRooms)
	add("kill -9 during record writes", killDuringRecordWrites)
	add("one-file kill during cleanup", oneFileCleanupKill)
	add("keep with the watcher running", keepWithWatcher)
	add("hand-off", handOffBasic)
	add("hand-off hook killed", handOffHookKilled)
	add("hand-off watcher killed", handOffWatcherKilled)
	add("hand-off S3 down", handOffS3Down)
	add("hand-off watcher hung", handOffWatcherHung)
	add("hand-off two recordings", handOffTwo)
	add("hand-off task stop", handOffTaskStop)

	var b strings.Builder
	b.WriteString("| fault | injected by | recordings in | in S3, verified | local files left | deleted unverified | duplicate objects | parts sent (run 1 + run 2) | watcher CPU and log lines | error shown |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---|---|---|\n")
	for _, r := range rows {
		b.WriteString(r.String() + "\n")
	}
	t.Logf("fault table:\n%s", b.String())
	fmt.Println(b.String())
	if p := os.Getenv("FAULTS_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func killAt(t *testing.T, h *harness, stage, fp string) row {
	rec := newRecording(t, t.TempDir(), "kill-"+strings.NewReplacer(":", "-").Replace(fp), media(mediaName), "")
	h.proxy.setFault(nil)
	r1 := run(t, finalizeBin, h.env("JIBRI_UPLOAD_FAILPOINT="+fp), nil, rec.dir)
	p1 := h.proxy.count("part")
	h.proxy.setFault(nil)
	r2 := run(t, finalizeBin, h.env(), nil, rec.dir)
	p2 := h.proxy.count("part")
	if r1.code != 137 || r2.code != 0 {
		t.Fatalf("exit codes %d then %d\n%s", r1.code, r2.code, r2.stderr)
	}
	const total = 8
	switch fp {
	case "part-uploaded:3":
		if p2 > total-3 {
			t.Errorf("rerun sent %d parts; at least 3 were stored before the kill", p2)
		}
	default:
		if p2 != 0 {
			t.Errorf("rerun sent %d parts; all %d were stored before the kill", p2, total)
		}
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 || o.localLeft != 0 {
		t.Errorf("%+v", o)
	}
	return row{fault: "kill -9 " + stage, injection: "failpoint " + fp + ", then rerun", outcome: o,
		parts: fmt.Sprintf("%d + %d of %d", p1, p2, total), err: "killed by SIGKILL; rerun resumed"}
}

func killDuringCleanup(t *testing.T, h *harness) row {
	rec := newRecording(t, t.TempDir(), "kill-cleanup", map[string]int64{"a_2026-11-24-10-00-00.mp4": 12 << 20, "b.opus": 3 << 20}, "")
	h.proxy.setFault(nil)
	r1 := run(t, finalizeBin, h.env("JIBRI_UPLOAD_FAILPOINT=during-cleanup"), nil, rec.dir)
	mid := h.evaluate(t, rec)
	p1 := h.proxy.count("part") + h.proxy.count("put")
	h.proxy.setFault(nil)
	r2 := run(t, finalizeBin, h.env(), nil, rec.dir)
	p2 := h.proxy.count("part") + h.proxy.count("put") - 1 // the manifest is a PUT when rewritten
	if r1.code != 137 || r2.code != 0 || mid.localLeft != 1 {
		t.Fatalf("exit codes %d then %d, %d file(s) left after the kill\n%s", r1.code, r2.code, mid.localLeft, r2.stderr)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 || o.localLeft != 0 {
		t.Errorf("%+v", o)
	}
	if _, err := os.Stat(rec.dir); !os.IsNotExist(err) {
		t.Error("directory left after the rerun")
	}
	return row{fault: "kill -9 during cleanup", injection: "failpoint during-cleanup (after 1 of 2 files deleted), then rerun", outcome: o,
		parts: fmt.Sprintf("%d + %d", p1, max(p2, 0)), err: "killed by SIGKILL; rerun verified the rest and finished cleanup"}
}

func oneRun(t *testing.T, h *harness, session, fault, injection string, f func(kind string, n int, w http.ResponseWriter, r *http.Request) bool, env ...string) row {
	rec := newRecording(t, t.TempDir(), session, media(mediaName), "")
	h.proxy.setFault(f)
	start := time.Now()
	r := run(t, finalizeBin, h.env(env...), nil, rec.dir)
	took := time.Since(start)
	parts := h.proxy.count("part")
	h.proxy.setFault(nil)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 || o.localLeft != 0 {
		t.Errorf("%+v", o)
	}
	return row{fault: fault, injection: injection, outcome: o, parts: fmt.Sprintf("%d (8 needed)", parts),
		err: fmt.Sprintf("none: recovered by retries in %.1fs", took.Seconds())}
}

func connectionReset(t *testing.T, h *harness) row {
	return oneRun(t, h, "reset", "connection reset mid-part", "proxy RSTs the first 3 part uploads after 1 MiB",
		func(kind string, n int, w http.ResponseWriter, r *http.Request) bool {
			if kind == "part" && n <= 3 {
				reset(w, 1<<20)
				return true
			}
			return false
		})
}

func stall(t *testing.T, h *harness) row {
	r := oneRun(t, h, "stall", "stalled connection", "proxy stops reading and answering one part for 60 s (I/O timeout 2 s)",
		func(kind string, n int, w http.ResponseWriter, r *http.Request) bool {
			if kind == "part" && n == 1 {
				h.proxy.stall(w, 60*time.Second)
				return true
			}
			return false
		})
	return r
}

func slowDownScenario(t *testing.T, h *harness) row {
	return oneRun(t, h, "slowdown", "503 SlowDown for a while", "proxy answers the first 6 part uploads with 503 SlowDown",
		func(kind string, n int, w http.ResponseWriter, r *http.Request) bool {
			if kind == "part" && n <= 6 {
				slowDown(w)
				return true
			}
			return false
		})
}

func internalErrorScenario(t *testing.T, h *harness) row {
	return oneRun(t, h, "internal-error", "500 InternalError for a while", "proxy answers the first 4 part uploads and the first completion with 500",
		func(kind string, n int, w http.ResponseWriter, r *http.Request) bool {
			if (kind == "part" && n <= 4) || (kind == "complete" && n == 1) {
				internalError(w)
				return true
			}
			return false
		})
}

func minioDown(t *testing.T, h *harness) row {
	rec := newRecording(t, t.TempDir(), "minio-down", media(mediaName), "")
	h.proxy.setFault(nil)
	h.srv.Stop()
	stopped := time.Now()
	r1 := run(t, finalizeBin, h.env("JIBRI_UPLOAD_DEADLINE=15s"), nil, rec.dir)
	_, statErr := os.Stat(filepath.Join(rec.dir, mediaName))
	time.Sleep(time.Until(stopped.Add(time.Minute)))
	h.srv.Restart()
	r2 := run(t, finalizeBin, h.env(), nil, rec.dir)
	if r1.code != 4 || r2.code != 0 || statErr != nil {
		t.Fatalf("exit codes %d then %d, media while down: %v\n%s", r1.code, r2.code, statErr, r1.stderr)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 || o.localLeft != 0 {
		t.Errorf("%+v", o)
	}
	return row{fault: "MinIO stopped for a minute", injection: "process stopped, run (15 s deadline), restarted after 60 s, rerun", outcome: o,
		parts: fmt.Sprintf("0 + %d", h.proxy.count("part")), err: r1.errLine()}
}

// nobody returns credentials for an unprivileged run (root ignores
// permission bits) and opens the path to dir for it.
func nobody(t *testing.T, dir string) *syscall.Credential {
	for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
		if strings.HasPrefix(p, os.TempDir()) && p != os.TempDir() {
			os.Chmod(p, 0o755)
		}
	}
	if os.Geteuid() != 0 {
		return nil
	}
	return &syscall.Credential{Uid: 65534, Gid: 65534}
}

func unreadable(t *testing.T, h *harness) row {
	rec := newRecording(t, t.TempDir(), "unreadable", media(mediaName), "")
	os.Chmod(filepath.Join(rec.dir, mediaName), 0)
	h.proxy.setFault(nil)
	r := run(t, finalizeBin, h.env(), nobody(t, rec.dir), rec.dir)
	if r.code != 4 || !strings.Contains(r.stderr, "permission denied") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	o := h.evaluate(t, rec)
	if o.localLeft != 1 {
		t.Errorf("%+v", o)
	}
	return row{fault: "media file unreadable", injection: "chmod 000, finalize runs as nobody", outcome: o, parts: "0", err: r.errLine()}
}

func truncated(t *testing.T, h *harness) row {
	rec := newRecording(t, t.TempDir(), "truncated", media(mediaName), "")
	p := filepath.Join(rec.dir, mediaName)
	var once sync.Once
	h.proxy.setFault(func(kind string, n int, w http.ResponseWriter, r *http.Request) bool {
		if kind == "part" {
			once.Do(func() { os.Truncate(p, 10<<20) })
		}
		return false
	})
	r := run(t, finalizeBin, h.env(), nil, rec.dir)
	h.proxy.setFault(nil)
	if r.code != 4 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Size() != 10<<20 {
		t.Fatalf("truncated file not kept as it is: %v", err)
	}
	o := h.evaluate(t, rec)
	return row{fault: "media truncated during upload", injection: "truncated to 10 MiB when the first part arrives", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: r.errLine()}
}

func appended(t *testing.T, h *harness) row {
	rec := newRecording(t, t.TempDir(), "appended", media(mediaName), "")
	p := filepath.Join(rec.dir, mediaName)
	var once sync.Once
	h.proxy.setFault(func(kind string, n int, w http.ResponseWriter, r *http.Request) bool {
		if kind == "part" {
			once.Do(func() {
				f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
				f.Write(make([]byte, 1<<20))
				f.Close()
			})
		}
		return false
	})
	r1 := run(t, finalizeBin, h.env(), nil, rec.dir)
	p1 := h.proxy.count("part")
	h.proxy.setFault(nil)
	if r1.code != 4 {
		t.Fatalf("exit %d\n%s", r1.code, r1.stderr)
	}
	b, _ := os.ReadFile(p)
	rec.sums[mediaName] = sha256.Sum256(b) // the recording is now the longer file
	r2 := run(t, finalizeBin, h.env(), nil, rec.dir)
	if r2.code != 0 {
		t.Fatalf("rerun exit %d\n%s", r2.code, r2.stderr)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 {
		t.Errorf("%+v", o)
	}
	return row{fault: "media appended during upload", injection: "1 MiB appended when the first part arrives, then rerun", outcome: o,
		parts: fmt.Sprintf("%d + %d", p1, h.proxy.count("part")), err: r1.errLine()}
}

func unwritableDir(t *testing.T, h *harness) row {
	rec := newRecording(t, t.TempDir(), "unwritable", media(mediaName), "")
	h.proxy.setFault(nil)
	r := run(t, finalizeBin, h.env(), nobody(t, rec.dir), rec.dir)
	if r.code != 6 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 || o.localLeft != 1 {
		t.Errorf("%+v", o)
	}
	return row{fault: "record and lock info unwritable", injection: "directory owned by root, finalize runs as nobody", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: r.errLine()}
}

func lockInfoBlocked(t *testing.T, h *harness) row {
	rec := newRecording(t, t.TempDir(), "lock-blocked", media(mediaName), "")
	os.Mkdir(filepath.Join(rec.dir, ".finalize.lock"), 0o755) // the info file cannot be written
	h.proxy.setFault(nil)
	r := run(t, finalizeBin, h.env(), nil, rec.dir)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	o := h.evaluate(t, rec)
	return row{fault: "lock file unwritable", injection: "a directory where the lock info file goes (flock is on the directory)", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: "none"}
}

func fullDisk(t *testing.T, h *harness) row {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=42m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Logf("cannot mount a small tmpfs (%v: %s): row not run", err, out)
		return row{fault: "full disk for the record", injection: "not run: mount not permitted here"}
	}
	defer exec.Command("umount", "-l", mnt).Run()
	rec := newRecording(t, mnt, "full-disk", media(mediaName), "")
	filler, _ := os.Create(filepath.Join(mnt, "filler"))
	chunk := make([]byte, 4096)
	for {
		if _, err := filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()
	h.proxy.setFault(nil)
	r := run(t, finalizeBin, h.env(), nil, rec.dir)
	if r.code != 0 || !strings.Contains(r.stderr, "cannot write the record") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 {
		t.Errorf("%+v", o)
	}
	return row{fault: "full disk for the record", injection: "recording on a 42 MiB tmpfs filled to the last byte", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: "logged: cannot write the record (no space); upload unaffected"}
}

func hostileNames(t *testing.T, h *harness) row {
	name := "..\x1b[31m\u202ered_2026-11-24-10-00-00.mp4"
	rec := newRecording(t, t.TempDir(), "hostile", map[string]int64{name: 6 << 20},
		`{"meeting_url":"https://meet.example.com/..%2F..%2Fetc/%2e%2e%00\u0007bell"}`)
	h.proxy.setFault(nil)
	r := run(t, finalizeBin, h.env(), nil, rec.dir)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 {
		t.Errorf("%+v", o)
	}
	return row{fault: "path traversal and control characters", injection: "room ../../etc/.. with NUL and BEL, file name with ESC and RTL override", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part") + h.proxy.count("put") - 1), err: "none: keys sanitized"}
}

func symlinkOutside(t *testing.T, h *harness) row {
	rec := newRecording(t, t.TempDir(), "symlink", media(mediaName), "")
	os.Symlink("/etc/passwd", filepath.Join(rec.dir, "passwd.mp4"))
	before, _ := os.ReadFile("/etc/passwd")
	h.proxy.setFault(nil)
	r := run(t, finalizeBin, h.env(), nil, rec.dir)
	after, _ := os.ReadFile("/etc/passwd")
	if r.code != 0 || string(before) != string(after) {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Lstat(filepath.Join(rec.dir, "passwd.mp4")); err != nil {
		t.Error("symlink removed")
	}
	o := h.evaluate(t, rec)
	return row{fault: "symlink to a file outside", injection: "passwd.mp4 -> /etc/passwd", outcome: o, parts: fmt.Sprint(h.proxy.count("part")),
		err: "logged: refused entry, not followed; symlink kept"}
}

func fifo(t *testing.T, h *harness) row {
	rec := newRecording(t, t.TempDir(), "fifo", media(mediaName), "")
	syscall.Mkfifo(filepath.Join(rec.dir, "pipe.mp4"), 0o644)
	h.proxy.setFault(nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, finalizeBin, rec.dir)
	cmd.Env = h.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	o := h.evaluate(t, rec)
	return row{fault: "FIFO in the directory", injection: "mkfifo pipe.mp4 (never opened)", outcome: o, parts: fmt.Sprint(h.proxy.count("part")),
		err: "logged: refused entry (named pipe); kept"}
}

func metadataCase(t *testing.T, h *harness, session, meta, fault, injection string) row {
	rec := newRecording(t, t.TempDir(), session, media(mediaName), meta)
	h.proxy.setFault(nil)
	r := run(t, finalizeBin, h.env(), nil, rec.dir)
	if r.code != 0 || !strings.Contains(r.stderr, "fallback layout") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 {
		t.Errorf("%+v", o)
	}
	return row{fault: fault, injection: injection, outcome: o, parts: fmt.Sprint(h.proxy.count("part")), err: "logged: metadata.json is corrupt; fallback layout"}
}

func hugeMetadata(t *testing.T, h *harness) row {
	meta := `{"meeting_url":"https://meet.example.com/big","pad":"` + strings.Repeat("x", 10<<20) + `"}`
	return metadataCase(t, h, "huge-meta", meta, "10 MB metadata.json", "metadata.json of 10 MiB")
}

func nestedMetadata(t *testing.T, h *harness) row {
	meta := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	return metadataCase(t, h, "nested-meta", meta, "deeply nested JSON", "100,000 nested objects in metadata.json")
}

func hookAndWatcher(t *testing.T, h *harness) row {
	root := t.TempDir()
	rec := newRecording(t, root, "hook-watcher", media(mediaName), "")
	h.proxy.setFault(nil)
	var wg sync.WaitGroup
	var hook, watcher result
	wg.Add(2)
	go func() { defer wg.Done(); hook = run(t, finalizeBin, h.env(), nil, rec.dir) }()
	go func() {
		defer wg.Done()
		watcher = run(t, recwatchBin, h.env(), nil, "--once", "--root", root, "--settle", "1ms")
	}()
	wg.Wait()
	if watcher.code != 0 || (hook.code != 0 && hook.code != 3 && hook.code != 2) {
		t.Fatalf("hook %d, watcher %d\n%s\n%s", hook.code, watcher.code, hook.stderr, watcher.stderr)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 || o.localLeft != 0 {
		t.Errorf("%+v", o)
	}
	return row{fault: "hook and watcher on one directory", injection: "finalize and recwatch --once started together", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: fmt.Sprintf("none (hook exit %d)", hook.code)}
}

func twoWatchers(t *testing.T, h *harness) row {
	root := t.TempDir()
	var recs []*recFixture
	for i := 0; i < 5; i++ {
		recs = append(recs, newRecording(t, root, fmt.Sprintf("two-watchers-%d", i), map[string]int64{mediaName: 6 << 20}, ""))
	}
	h.proxy.setFault(nil)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = run(t, recwatchBin, h.env(), nil, "--once", "--root", root, "--settle", "1ms", "--uploads", "2").code
		}()
	}
	wg.Wait()
	if codes[0] != 0 || codes[1] != 0 {
		t.Fatalf("exit codes %v", codes)
	}
	o := h.evaluate(t, recs...)
	if o.verified != 5 || o.localLeft != 0 {
		t.Errorf("%+v", o)
	}
	return row{fault: "two watchers on one volume", injection: "two recwatch --once on one root, 5 recordings", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part") + h.proxy.count("put") - 5), err: "none"}
}
