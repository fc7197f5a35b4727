package recwatch

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/app"
	"github.com/jitsi-recorder/jibri-s3/internal/config"
	"github.com/jitsi-recorder/jibri-s3/internal/fakes3"
	"github.com/jitsi-recorder/jibri-s3/internal/finalize"
	"github.com/jitsi-recorder/jibri-s3/internal/inventory"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

type fixture struct {
	root     string
	pipeline *app.Pipeline
	emf      *bytes.Buffer
	emfSink  *metrics.WriterSink
	log      zerolog.Logger
}

func newFixture(t *testing.T, conn s3conn.Options, bucket string, deadline time.Duration) *fixture {
	t.Helper()
	cfg := config.Defaults()
	cfg.Bucket = bucket
	cfg.Endpoint, cfg.PathStyle, cfg.CABundle = conn.Endpoint, true, conn.CABundle
	cfg.PartSizeMiB = 5
	cfg.Deadline = deadline
	cfg.Attempts = 1
	cfg.SDKAttempts = 2
	cfg.RetryBase, cfg.RetryMax = 10*time.Millisecond, 20*time.Millisecond
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	f := &fixture{root: t.TempDir(), emf: &bytes.Buffer{}, log: zerolog.New(zerolog.NewTestWriter(t))}
	f.emfSink = &metrics.WriterSink{W: &lockedWriter{w: f.emf}}
	p, err := app.New(context.Background(), cfg, conn, f.log, f.emfSink, "recwatch", nil, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	f.pipeline = p
	return f
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (f *fixture) daemon(t *testing.T, fin Finalizer, o Options) *Daemon {
	o.Root = f.root
	if o.Policy == (inventory.Policy{}) {
		o.Policy = inventory.Policy{Settle: 300 * time.Millisecond, Orphan: 1500 * time.Millisecond, MaxAttempts: 5, RetryBase: 200 * time.Millisecond, RetryMax: time.Second}
	}
	if fin == nil {
		fin = f.pipeline.Runner
	}
	return New(o, fin, f.log, NewMetrics(), nil, f.emfSink, f.pipeline.Probe)
}

// recording writes a session directory; old makes its mtimes an hour old.
func recording(t *testing.T, root, session string, size int, meta, old bool) string {
	t.Helper()
	dir := filepath.Join(root, session)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	rand.Read(data)
	names := []string{"room_2026-11-24-10-00-00.mp4"}
	os.WriteFile(filepath.Join(dir, names[0]), data, 0o644)
	if meta {
		os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{"meeting_url":"https://meet.example.com/room"}`), 0o644)
		names = append(names, "metadata.json")
	}
	if old {
		past := time.Now().Add(-time.Hour)
		for _, n := range names {
			os.Chtimes(filepath.Join(dir, n), past, past)
		}
		os.Chtimes(dir, past, past)
	}
	return dir
}

func gone(dir string) bool {
	_, err := os.Stat(dir)
	return errors.Is(err, os.ErrNotExist)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func start(d *Daemon) (stop func() error) {
	stopCtx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(stopCtx, context.Background()) }()
	return sync.OnceValue(func() error { cancel(); return <-errc })
}

// TestWatcherFinalizesWithFsnotify: recordings appear after the daemon
// started and the periodic rescan is an hour away, so only filesystem
// events can find them: one grows, gets metadata.json, settles and is
// uploaded; an orphan without metadata is uploaded after the orphan window.
func TestWatcherFinalizesWithFsnotify(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "recordings")
	f := newFixture(t, srv.Conn(), bucket, time.Minute)
	d := f.daemon(t, nil, Options{Rescan: time.Hour, Debounce: 50 * time.Millisecond})
	stop := start(d)
	defer stop()
	waitFor(t, 5*time.Second, "watching", d.watching.Load)

	// A recording in progress: grows for a while, then Jibri writes metadata.
	dir := filepath.Join(f.root, "growing-session")
	os.Mkdir(dir, 0o755)
	media, _ := os.Create(filepath.Join(dir, "room_2026-11-24-10-00-00.mp4"))
	for i := 0; i < 10; i++ {
		media.Write(bytes.Repeat([]byte{byte(i)}, 64<<10))
		time.Sleep(100 * time.Millisecond)
		if gone(dir) {
			t.Fatal("uploaded while still recording")
		}
	}
	media.Close()
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{"meeting_url":"https://meet.example.com/room"}`), 0o644)
	orphan := recording(t, f.root, "orphan-session", 1000, false, false)

	waitFor(t, 20*time.Second, "growing recording uploaded", func() bool { return gone(dir) })
	waitFor(t, 20*time.Second, "orphan uploaded", func() bool { return gone(orphan) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	client := srv.Client(t)
	for _, session := range []string{"growing-session", "orphan-session"} {
		out, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("recordings/")})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, o := range out.Contents {
			if strings.Contains(*o.Key, "/"+session+"/manifest.json") {
				found = true
			}
		}
		if !found {
			t.Errorf("no manifest for %s", session)
		}
	}
	if !strings.Contains(f.emf.String(), `"RecordingsUploaded":1`) {
		t.Errorf("no EMF success records on stdout: %s", f.emf.String())
	}
}

// TestMinIODownThenUp: while S3 is down nothing is deleted and attempts are
// counted on disk; after recovery every pending recording lands.
func TestMinIODownThenUp(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "recordings")
	f := newFixture(t, srv.Conn(), bucket, 2*time.Second)
	var dirs []string
	for i := 0; i < 3; i++ {
		dirs = append(dirs, recording(t, f.root, fmt.Sprintf("down-%d", i), 200_000, true, true))
	}
	srv.Stop()
	d := f.daemon(t, nil, Options{Rescan: 200 * time.Millisecond, Concurrency: 2,
		Policy: inventory.Policy{Settle: time.Millisecond, MaxAttempts: 100, RetryBase: 200 * time.Millisecond, RetryMax: time.Second}})
	stop := start(d)
	defer stop()
	waitFor(t, 30*time.Second, "two failed attempts each", func() bool {
		for _, dir := range dirs {
			st, _, _ := recdir.Read(dir)
			if st.Attempts < 2 {
				return false
			}
		}
		return true
	})
	for _, dir := range dirs {
		if gone(dir) {
			t.Fatal("recording deleted while S3 was down")
		}
	}
	srv.Restart()
	for _, dir := range dirs {
		waitFor(t, 30*time.Second, "recovery upload of "+dir, func() bool { return gone(dir) })
	}
	stop()
	p := f.pipeline
	for i := range dirs {
		out, err := p.Client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, o := range out.Contents {
			if strings.Contains(*o.Key, fmt.Sprintf("/down-%d/", i)) {
				n++
			}
		}
		if n != 2 {
			t.Errorf("down-%d: %d objects, want media + manifest", i, n)
		}
	}
	if c := testutilCount(d, "upload") + testutilCount(d, "deadline"); c < 6 {
		t.Errorf("failures counted: %v", c)
	}
}

// TestHookWatcherRace runs the hook and the watcher on the same directory
// many times with random delays: exactly one upload and one deletion each
// time, and nothing left behind.
func TestHookWatcherRace(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "recordings")
	f := newFixture(t, srv.Conn(), bucket, time.Minute)
	client := srv.Client(t)
	for i := 0; i < 25; i++ {
		session := fmt.Sprintf("race-%02d", i)
		dir := recording(t, f.root, session, 50_000, true, true)
		var wg sync.WaitGroup
		var hookErr, watchErr error
		delay := func() { time.Sleep(time.Duration(mrand(i) % uint64(3*time.Millisecond))) }
		wg.Add(2)
		go func() { defer wg.Done(); delay(); _, hookErr = f.pipeline.Runner.Run(context.Background(), dir) }()
		go func() {
			defer wg.Done()
			delay()
			d := f.daemon(t, nil, Options{Once: true, Policy: inventory.Policy{MaxAttempts: 5, RetryBase: time.Second, RetryMax: time.Second}})
			watchErr = d.Run(context.Background(), context.Background())
		}()
		wg.Wait()
		if watchErr != nil {
			t.Fatalf("%s: watcher: %v", session, watchErr)
		}
		if hookErr != nil && !errors.Is(hookErr, finalize.ErrLocked) && !errors.Is(hookErr, finalize.ErrUsage) {
			t.Fatalf("%s: hook: %v", session, hookErr)
		}
		if !gone(dir) {
			t.Fatalf("%s: directory left behind: %v", session, snapshotNames(dir))
		}
		vs, err := client.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String("recordings/")})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range vs.Versions {
			if strings.Contains(*v.Key, "/"+session+"/") {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%s: %d object versions, want exactly 2 (one media upload, one manifest)", session, n)
		}
	}
}

func mrand(i int) uint64 {
	var b [8]byte
	rand.Read(b[:])
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(i)
}

func snapshotNames(dir string) []string {
	des, _ := os.ReadDir(dir)
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}

// TestRestartKeepsAttempts: attempts survive a restart, and after
// MaxAttempts the recording is stuck: kept, listed, not retried.
func TestRestartKeepsAttempts(t *testing.T) {
	srv, err := fakes3.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn := srv.Conn()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	conn.Endpoint = "http://" + l.Addr().String() // nothing listens: S3 down
	l.Close()
	f := newFixture(t, conn, "recordings", time.Second)
	dir := recording(t, f.root, "stuck-session", 1000, true, true)
	pol := inventory.Policy{MaxAttempts: 2, RetryBase: time.Millisecond, RetryMax: time.Millisecond}
	for run := 1; run <= 3; run++ { // three daemon lifetimes
		d := f.daemon(t, nil, Options{Once: true, Policy: pol})
		err := d.Run(context.Background(), context.Background())
		st, _, _ := recdir.Read(dir)
		switch run {
		case 1, 2:
			if !errors.Is(err, ErrFailures) || st.Attempts != run {
				t.Fatalf("run %d: err %v, attempts %d", run, err, st.Attempts)
			}
		case 3:
			if err != nil || st.Attempts != 2 {
				t.Fatalf("stuck recording retried: err %v, attempts %d", err, st.Attempts)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	entries, err := inventory.Scan(f.root, time.Now(), pol, nil)
	if err != nil || len(entries) != 1 || entries[0].State != inventory.Stuck || entries[0].LastError == "" {
		t.Fatalf("status: %+v %v", entries, err)
	}
	if gone(dir) {
		t.Fatal("stuck recording deleted")
	}
}

// countingFinalizer records the highest number of concurrent runs.
type countingFinalizer struct {
	Finalizer
	cur, max atomic.Int32
}

func (c *countingFinalizer) Run(ctx context.Context, dir string) (*finalize.Result, error) {
	n := c.cur.Add(1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	defer c.cur.Add(-1)
	return c.Finalizer.Run(ctx, dir)
}

// TestBacklogOf1000 starts with 1,000 pending recordings: the first scan
// finds them all and they are processed with bounded concurrency.
func TestBacklogOf1000(t *testing.T) {
	srv, err := fakes3.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.CreateBucket("recordings")
	f := newFixture(t, srv.Conn(), "recordings", time.Minute)
	for i := 0; i < 1000; i++ {
		recording(t, f.root, fmt.Sprintf("backlog-%04d", i), 100, true, true)
	}
	start := time.Now()
	entries, err := inventory.Scan(f.root, time.Now(), inventory.DefaultPolicy(), nil)
	if err != nil || inventory.Counts(entries)[inventory.Pending] != 1000 {
		t.Fatalf("first scan found %d pending, %v", inventory.Counts(entries)[inventory.Pending], err)
	}
	t.Logf("first scan of 1000 directories: %s", time.Since(start))
	cf := &countingFinalizer{Finalizer: f.pipeline.Runner}
	d := f.daemon(t, cf, Options{Once: true, Concurrency: 2})
	if err := d.Run(context.Background(), context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := cf.max.Load(); m > 2 || m < 1 {
		t.Fatalf("max concurrent uploads %d, want <= 2", m)
	}
	left, _ := os.ReadDir(f.root)
	for _, de := range left {
		if !strings.HasPrefix(de.Name(), ".") {
			t.Fatalf("left behind: %s", de.Name())
		}
	}
}
