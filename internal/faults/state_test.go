package faults

// Rows for the per-recording state and real-link defects (issue 9).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/throttle"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

// proc is a binary running in the background.
type proc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	start  time.Time
	done   chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startProc(t *testing.T, bin string, env []string, cred *syscall.Credential, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Env, p.cmd.Stderr = env, p.stderr
	if cred != nil {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.start = time.Now()
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

// stop sends SIGTERM and waits; it returns the CPU seconds the process used
// and how long it ran.
func (p *proc) stop(t *testing.T) (cpu, wall time.Duration) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("process did not stop after SIGTERM")
	}
	ru := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpu, time.Since(p.start)
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

func gone(dir string) bool {
	_, err := os.Stat(dir)
	return os.IsNotExist(err)
}

// Two names that sanitize alike, and a kill -9 between the two deletions
// of the cleanup: the rerun must store the second file under its own key.
func nameCollision(t *testing.T, h *harness) row {
	first, second := "room\x01_2026-11-24-10-00-00.mp4", "room\x02_2026-11-24-10-00-00.mp4"
	rec := newRecording(t, t.TempDir(), "collision", map[string]int64{first: 6 << 20, second: 7 << 20}, "")
	h.proxy.setFault(nil)
	r1 := run(t, finalizeBin, h.env("JIBRI_UPLOAD_FAILPOINT=during-cleanup"), nil, rec.dir)
	r2 := run(t, finalizeBin, h.env(), nil, rec.dir)
	if r1.code != 137 || r2.code != 0 {
		t.Fatalf("exit codes %d then %d\n%s", r1.code, r2.code, r2.stderr)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 || o.localLeft != 0 || !gone(rec.dir) {
		t.Errorf("%+v", o)
	}
	return row{fault: "two names that sanitize alike, cleanup killed between the deletions", injection: "failpoint during-cleanup, then rerun", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: "killed by SIGKILL; rerun kept the pinned keys"}
}

// A steady slow link with the default part size (16 MiB) and io-timeout
// (60 s): every part takes longer than the timeout, and must still go
// through on its first attempt.
func slowLink(t *testing.T, h *harness) row {
	u, _ := url.Parse(h.proxy.srv.URL)
	const rate = 250 << 10
	tp, err := throttle.Start(context.Background(), throttle.Options{Target: u.Host, Rate: rate, SocketBuffer: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	rec := newRecording(t, t.TempDir(), "slow-link", map[string]int64{mediaName: 17 << 20}, "")
	h.proxy.setFault(nil)
	start := time.Now()
	r := run(t, finalizeBin, h.env("JIBRI_UPLOAD_ENDPOINT=http://"+tp.Addr(), "JIBRI_UPLOAD_PART_SIZE=16", "JIBRI_UPLOAD_IO_TIMEOUT=60s",
		"JIBRI_UPLOAD_CONCURRENCY=4", "JIBRI_UPLOAD_DEADLINE=10m", "JIBRI_UPLOAD_ATTEMPTS=4"), nil, rec.dir)
	took := time.Since(start)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, bad := range []string{"timeout", "stalled", "retrying", "closed network connection"} {
		if strings.Contains(r.stderr, bad) {
			t.Errorf("log mentions %q:\n%s", bad, r.stderr)
		}
	}
	if n := h.proxy.count("part"); n != 2 {
		t.Errorf("%d part requests for 2 parts: a part was sent twice", n)
	}
	if took < 60*time.Second {
		t.Errorf("the upload took %s: the link must be slower than the 60 s timeout per part to show anything", took)
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 {
		t.Errorf("%+v", o)
	}
	return row{fault: "slow steady link, default part size and io-timeout", injection: fmt.Sprintf("throttling TCP proxy, %d KiB/s per connection, 16 MiB parts, io-timeout 60 s", rate>>10),
		outcome: o, parts: fmt.Sprintf("%d of 2 (one attempt each, %.0f s)", h.proxy.count("part"), took.Seconds()), err: "none"}
}

// agentStub is an ECS agent's task protection endpoint that records every
// state it is asked for.
type agentStub struct {
	srv    *httptest.Server
	mu     sync.Mutex
	states []bool
}

func newAgentStub() *agentStub {
	a := &agentStub{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ ProtectionEnabled bool }
		if r.Method != http.MethodPut || r.URL.Path != "/task-protection/v1/state" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.states = append(a.states, req.ProtectionEnabled)
		a.mu.Unlock()
		fmt.Fprintf(w, `{"protection":{"ProtectionEnabled":%v,"ExpirationDate":"2026-12-02T06:00:00Z","TaskArn":"arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef"}}`, req.ProtectionEnabled)
	}))
	return a
}

func (a *agentStub) snapshot() []bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]bool(nil), a.states...)
}

// chownTree gives root and everything under it to nobody.
func chownTree(t *testing.T, root string) {
	t.Helper()
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Chown(p, 65534, 65534)
		}
		return nil
	})
}

// One session directory the watcher cannot read beside three pending
// recordings: the three are uploaded and task protection is never released.
func unreadableSession(t *testing.T, h *harness) row {
	root := filepath.Join(t.TempDir(), "recordings")
	var recs []*recFixture
	for i := 0; i < 3; i++ {
		recs = append(recs, newRecording(t, root, fmt.Sprintf("pending-%d", i), map[string]int64{mediaName: 6 << 20}, ""))
	}
	chownTree(t, root)
	bad := newRecording(t, root, "unreadable", map[string]int64{mediaName: 1 << 20}, "")
	os.Chmod(bad.dir, 0o700) // owned by root: nobody cannot list it
	cred := nobody(t, root)
	agent := newAgentStub()
	defer agent.srv.Close()
	h.proxy.setFault(nil)
	p := startProc(t, recwatchBin, h.env("ECS_AGENT_URI="+agent.srv.URL), cred,
		"--root", root, "--listen", "127.0.0.1:0", "--settle", "100ms", "--rescan", "200ms")
	waitUntil(t, 60*time.Second, "the three recordings", func() bool { return gone(recs[0].dir) && gone(recs[1].dir) && gone(recs[2].dir) })
	time.Sleep(time.Second) // a few more scans with only the unreadable entry left
	p.stop(t)
	states := agent.snapshot()
	if len(states) == 0 {
		t.Fatalf("protection never requested\n%s", p.stderr.String())
	}
	for i, s := range states {
		if !s {
			t.Errorf("protection released at request %d of %d while a session could not be read", i+1, len(states))
		}
	}
	o := h.evaluate(t, recs...)
	if o.verified != 3 {
		t.Errorf("%+v", o)
	}
	o.in++ // the unreadable one: still on disk, not counted as verified
	return row{fault: "unreadable session directory beside three pending", injection: "a root-owned 0700 session, recwatch runs as nobody, ECS agent stub", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: fmt.Sprintf("logged: unreadable entry; protection held in %d of %d requests", countTrue(states), len(states))}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// The hook holds a recording while S3 stalls for 60 s; the watcher beside
// it must neither spin nor flood the log.
func hookHoldsLock(t *testing.T, h *harness) row {
	root := t.TempDir()
	rec := newRecording(t, root, "hook-stalled", media(mediaName), "")
	var once sync.Once
	h.proxy.setFault(func(kind string, n int, w http.ResponseWriter, r *http.Request) bool {
		stalled := false
		if kind == "part" {
			once.Do(func() { stalled = true })
		}
		if stalled {
			h.proxy.stall(w, 60*time.Second)
			return true
		}
		return false
	})
	hook := startProc(t, finalizeBin, h.env("JIBRI_UPLOAD_IO_TIMEOUT=90s", "JIBRI_UPLOAD_DEADLINE=5m"), nil, rec.dir)
	time.Sleep(500 * time.Millisecond) // the hook has the lock
	w := startProc(t, recwatchBin, h.env(), nil, "--root", root, "--listen", "127.0.0.1:0", "--settle", "1ms")
	select {
	case <-hook.done:
	case <-time.After(3 * time.Minute):
		t.Fatal("hook did not finish")
	}
	cpu, wall := w.stop(t)
	if code := hook.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("hook exit %d\n%s", code, hook.stderr.String())
	}
	lines := strings.Count(w.stderr.String(), "\n")
	perMin := wall.Minutes()
	cpuPerMin, linesPerMin := cpu.Seconds()/perMin, float64(lines)/perMin
	if cpuPerMin >= 1 || linesPerMin >= 10 {
		t.Errorf("watcher beside a locked recording: %.2f CPU s/min, %.1f log lines/min (targets < 1 and < 10)\n%s", cpuPerMin, linesPerMin, w.stderr.String())
	}
	o := h.evaluate(t, rec)
	if o.verified != 1 || o.localLeft != 0 {
		t.Errorf("%+v", o)
	}
	return row{fault: "hook holds the lock while S3 stalls for 60 s, watcher running", injection: "proxy holds the first part 60 s; recwatch with settle 1 ms",
		outcome: o, parts: fmt.Sprint(h.proxy.count("part")), err: "none (hook exit 0)",
		watcher: fmt.Sprintf("%.2f CPU s/min, %.1f log lines/min over %.0f s", cpuPerMin, linesPerMin, wall.Seconds())}
}

// Long and non-ASCII rooms and tenants: uploaded, with user metadata
// within S3's 2 KB.
func longRooms(t *testing.T, h *harness) row {
	cases := []struct{ session, url string }{
		{"cjk-room", "https://meet.example.com/" + strings.Repeat("会議室", 27)[:80*3]},
		{"emoji-room", "https://meet.example.com/" + strings.Repeat("🎉", 60)},
		{"ascii-room", "https://meet.example.com/" + strings.Repeat("r", 1000)},
		{"long-tenant", "https://meet.example.com/" + strings.Repeat("t", 300) + "/room"},
	}
	root := t.TempDir()
	var recs []*recFixture
	h.proxy.setFault(nil)
	for _, c := range cases {
		meta, _ := json.Marshal(map[string]string{"meeting_url": c.url})
		rec := newRecording(t, root, c.session, map[string]int64{mediaName: 1 << 20}, string(meta))
		recs = append(recs, rec)
		if r := run(t, finalizeBin, h.env(), nil, rec.dir); r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.session, r.code, r.stderr)
		}
	}
	maxSize := 0
	out, err := h.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(h.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var dec mime.WordDecoder
	for _, obj := range out.Contents {
		key := aws.ToString(obj.Key)
		if !strings.HasSuffix(key, ".mp4") || !containsAny(key, "cjk-room", "emoji-room", "ascii-room", "long-tenant") {
			continue
		}
		head, err := h.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(h.bucket), Key: obj.Key})
		if err != nil {
			t.Fatal(err)
		}
		size := upload.MetadataSize(head.Metadata)
		maxSize = max(maxSize, size)
		if size > upload.MetadataLimit {
			t.Errorf("%s: %d bytes of user metadata", key, size)
		}
		if _, err := dec.DecodeHeader(head.Metadata["room"]); err != nil {
			t.Errorf("%s: room %q does not decode: %v", key, head.Metadata["room"], err)
		}
	}
	o := h.evaluate(t, recs...)
	if o.verified != len(cases) {
		t.Errorf("%+v", o)
	}
	return row{fault: "rooms of 80 CJK characters, 60 emoji, 1,000 ASCII characters, a 300-character tenant", injection: "meeting_url in metadata.json", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: fmt.Sprintf("none: user metadata at most %d of %d bytes", maxSize, upload.MetadataLimit)}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// kill -9 at random points of runs that write the record often (one write
// per batch of parts): no temp file is ever uploaded, and the rerun always
// removes the directory.
func killDuringRecordWrites(t *testing.T, h *harness) row {
	const runs = 20
	var total outcome
	killed := 0
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	h.proxy.setFault(nil)
	for i := 0; i < runs; i++ {
		rec := newRecording(t, t.TempDir(), fmt.Sprintf("kill-record-%02d", i), map[string]int64{mediaName: 30 << 20, "b_2026-11-24-10-00-00.mp4": 6 << 20}, "")
		p := startProc(t, finalizeBin, h.env("JIBRI_UPLOAD_CONCURRENCY=4"), nil, rec.dir)
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		p.cmd.Process.Kill()
		<-p.done
		if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		}
		if r := run(t, finalizeBin, h.env(), nil, rec.dir); r.code != 0 && !gone(rec.dir) {
			t.Fatalf("run %d: rerun exit %d\n%s", i, r.code, r.stderr)
		}
		if !gone(rec.dir) {
			entries, _ := os.ReadDir(rec.dir)
			t.Errorf("run %d: directory left with %v", i, entries)
		}
		o := h.evaluate(t, rec)
		total.in, total.verified, total.localLeft = total.in+o.in, total.verified+o.verified, total.localLeft+o.localLeft
		total.deletedUnverified, total.duplicates = total.deletedUnverified+o.deletedUnverified, total.duplicates+o.duplicates
	}
	// No manifest lists anything but the two media files.
	out, _ := h.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(h.bucket), Prefix: aws.String("recordings/")})
	for _, obj := range out.Contents {
		if k := aws.ToString(obj.Key); strings.Contains(k, "/kill-record-") && strings.Contains(filepath.Base(k), recdir.Prefix) {
			t.Errorf("one of our own files was uploaded: %s", k)
		}
	}
	return row{fault: "kill -9 at random points, 20 times", injection: fmt.Sprintf("SIGKILL after 0-400 ms (%d of %d runs killed before they ended), then rerun", killed, runs), outcome: total,
		parts: "-", err: "none: no temp file uploaded, every directory removed"}
}

// A one-file recording killed after its media was deleted: the rerun
// removes metadata.json and the directory.
func oneFileCleanupKill(t *testing.T, h *harness) row {
	rec := newRecording(t, t.TempDir(), "one-file-cleanup", map[string]int64{mediaName: 6 << 20}, `{"meeting_url":"https://meet.example.com/x","upload_credentials":{"token":"SECRET"}}`)
	h.proxy.setFault(nil)
	r1 := run(t, finalizeBin, h.env("JIBRI_UPLOAD_FAILPOINT=during-cleanup"), nil, rec.dir)
	r2 := run(t, finalizeBin, h.env(), nil, rec.dir)
	if r1.code != 137 || r2.code != 0 || !gone(rec.dir) {
		t.Fatalf("exit codes %d then %d, dir gone %v\n%s", r1.code, r2.code, gone(rec.dir), r2.stderr)
	}
	o := h.evaluate(t, rec)
	return row{fault: "one-file recording killed during cleanup", injection: "failpoint during-cleanup (after the media is deleted), then rerun", outcome: o,
		parts: fmt.Sprint(h.proxy.count("part")), err: "killed by SIGKILL; rerun removed metadata.json and the directory"}
}

// finalize --keep, then the watcher for two minutes: the files stay and the
// status says kept.
func keepWithWatcher(t *testing.T, h *harness) row {
	root := t.TempDir()
	rec := newRecording(t, root, "kept", map[string]int64{mediaName: 6 << 20}, "")
	h.proxy.setFault(nil)
	if r := run(t, finalizeBin, h.env("JIBRI_UPLOAD_KEEP=true"), nil, rec.dir); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	parts := h.proxy.count("part")
	w := startProc(t, recwatchBin, h.env(), nil, "--root", root, "--listen", "127.0.0.1:0", "--settle", "1s", "--orphan", "1s", "--rescan", "1s")
	time.Sleep(2 * time.Minute)
	w.stop(t)
	if _, err := os.Stat(filepath.Join(rec.dir, mediaName)); err != nil {
		t.Fatalf("kept file removed: %v\n%s", err, w.stderr.String())
	}
	cmd := exec.Command(recwatchBin, "status", "--json", root)
	cmd.Env = h.env()
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), `"state": "kept"`) {
		t.Fatalf("status: %v\n%s", err, out)
	}
	o := h.evaluate(t, rec)
	return row{fault: "--keep with the watcher running for two minutes", injection: "finalize --keep, then recwatch (settle, orphan, rescan 1 s)", outcome: o,
		parts: fmt.Sprintf("%d + %d", parts, h.proxy.count("part")-parts), err: "none: files kept, status kept"}
}
