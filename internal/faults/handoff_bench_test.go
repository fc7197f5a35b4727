package faults

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/throttle"
)

// BenchmarkHandOff measures the hand-off (make bench-handoff): recordings
// of HANDOFF_SIZES MiB (default 100,1024,4096) uploaded by the real
// binaries to MinIO through a throttling proxy (HANDOFF_RATE bytes/s per
// connection, default 5,000,000; 16 MiB parts, 4 in flight), once with
// recwatch running (the hook hands off after its default 20 s hold) and
// once without a watcher (the hook uploads everything). Per row: the hook's
// hold time (exec to exit of finalize), the time from exec to committed
// (the directory removed), and the bytes sent beyond the recording's size
// (a part sent twice would add 16 MiB). It prints a Markdown table and
// writes it to $HANDOFF_REPORT when set. It runs once whatever -benchtime.
func BenchmarkHandOff(b *testing.B) {
	sizes := []int64{100, 1024, 4096}
	if v := os.Getenv("HANDOFF_SIZES"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				b.Fatalf("HANDOFF_SIZES: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	rate := int64(5_000_000)
	if v := os.Getenv("HANDOFF_RATE"); v != "" {
		var err error
		if rate, err = strconv.ParseInt(v, 10, 64); err != nil {
			b.Fatalf("HANDOFF_RATE: %v", err)
		}
	}
	srv := miniotest.Start(b, miniotest.Options{})
	bucket := srv.Bucket(b, "handoff-bench")
	u, _ := url.Parse(srv.Endpoint)
	tp, err := throttle.Start(context.Background(), throttle.Options{Target: u.Host, Rate: rate, SocketBuffer: 64 << 10})
	if err != nil {
		b.Fatal(err)
	}
	defer tp.Close()
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(),
		"AWS_ACCESS_KEY_ID=" + miniotest.AccessKey, "AWS_SECRET_ACCESS_KEY=" + miniotest.SecretKey, "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"JIBRI_UPLOAD_BUCKET=" + bucket, "JIBRI_UPLOAD_ENDPOINT=http://" + tp.Addr(), "JIBRI_UPLOAD_PATH_STYLE=true",
		"JIBRI_UPLOAD_PART_SIZE=16", "JIBRI_UPLOAD_CONCURRENCY=4", "JIBRI_UPLOAD_SSE=aes256", "JIBRI_UPLOAD_DEADLINE=3h",
		"JIBRI_UPLOAD_LOG_FORMAT=json", "JIBRI_UPLOAD_METRICS_FILE=none",
	}
	var table strings.Builder
	fmt.Fprintf(&table, "| recording | watcher | hook hold (s) | exec to committed (s) | committed vs no hand-off | bytes sent beyond the size | parts sent twice |\n|---:|---|---:|---:|---:|---:|---:|\n")
	b.ResetTimer()
	for _, mib := range sizes {
		var alone time.Duration
		for _, withWatcher := range []bool{false, true} {
			hold, commit, extra := handOffRun(b, env, tp, mib<<20, withWatcher)
			ratio := "-"
			if withWatcher {
				ratio = fmt.Sprintf("%.3fx", commit.Seconds()/alone.Seconds())
			} else {
				alone = commit
			}
			w := "none (no hand-off)"
			if withWatcher {
				w = "recwatch (hold 20 s)"
			}
			fmt.Fprintf(&table, "| %d MiB | %s | %.1f | %.1f | %s | %d B | %d |\n", mib, w, hold.Seconds(), commit.Seconds(), ratio, extra, extra/(16<<20))
		}
	}
	b.StopTimer()
	fmt.Printf("hand-off benchmark, %d B/s per connection (load %s):\n%s", rate, loadavg(), table.String())
	if p := os.Getenv("HANDOFF_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(table.String()), 0o644); err != nil {
			b.Error(err)
		}
	}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// handOffRun uploads one recording of size bytes as Jibri's hook and
// returns the hold, the time to committed and the bytes sent beyond size.
func handOffRun(b *testing.B, env []string, tp *throttle.Proxy, size int64, withWatcher bool) (hold, commit time.Duration, extra int64) {
	b.Helper()
	root := b.TempDir()
	dir := filepath.Join(root, fmt.Sprintf("bench-%d-%v", size>>20, withWatcher))
	os.Mkdir(dir, 0o755)
	writeRandom(b, filepath.Join(dir, mediaName), size)
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{"meeting_url":"https://meet.example.com/bench"}`), 0o644)
	var w *exec.Cmd
	if withWatcher {
		w = exec.Command(recwatchBin, "--root", root, "--listen", "127.0.0.1:0", "--heartbeat", "1s")
		w.Env = env
		var logs bytes.Buffer
		w.Stderr = &logs
		if err := w.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { w.Process.Signal(syscall.SIGTERM); w.Wait() }()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, ok := recdir.LiveWatcher(root, time.Now()); ok {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("no heartbeat\n%s", logs.String())
			}
		}
	}
	before := tp.Stats().Upstream
	start := time.Now()
	cmd := exec.Command(finalizeBin, dir)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("finalize: %v\n%s", err, out.String())
	}
	hold = time.Since(start)
	for {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			break
		}
		if time.Since(start) > 3*time.Hour {
			b.Fatal("not committed in 3 h")
		}
		time.Sleep(20 * time.Millisecond)
	}
	commit = time.Since(start)
	return hold, commit, tp.Stats().Upstream - before - size
}

func writeRandom(b *testing.B, path string, size int64) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{byte(size), 7})
	buf := make([]byte, 4<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		rng.Read(buf)
		if _, err := f.Write(buf[:min(int64(len(buf)), left)]); err != nil {
			b.Fatal(err)
		}
	}
}
