package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/fakes3"
	"github.com/jitsi-recorder/jibri-s3/internal/lock"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/testbin"
)

var binary string

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, &binary, "recwatch", "."))
}

func env(endpoint, access, secret string, extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"AWS_ACCESS_KEY_ID=" + access,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"JIBRI_UPLOAD_BUCKET=recordings",
		"JIBRI_UPLOAD_ENDPOINT=" + endpoint,
		"JIBRI_UPLOAD_PATH_STYLE=true",
		"JIBRI_UPLOAD_PART_SIZE=8",
		"JIBRI_UPLOAD_ATTEMPTS=1",
		"JIBRI_UPLOAD_LOG_FORMAT=json",
	}, extra...)
}

func mkRecording(t *testing.T, root, session string, size int) string {
	t.Helper()
	dir := filepath.Join(root, session)
	os.MkdirAll(dir, 0o755)
	f, err := os.Create(filepath.Join(dir, "room_2026-11-24-10-00-00.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 1<<20)
	rand.Read(block)
	for left := size; left > 0; left -= len(block) {
		block[0]++
		f.Write(block[:min(left, len(block))])
	}
	f.Close()
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{"meeting_url":"https://meet.example.com/room"}`), 0o644)
	past := time.Now().Add(-time.Hour)
	for _, n := range []string{"room_2026-11-24-10-00-00.mp4", "metadata.json", "."} {
		os.Chtimes(filepath.Join(dir, n), past, past)
	}
	return dir
}

func runOnce(t *testing.T, e []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = e
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stdout.String(), stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

func TestOnceAndStatus(t *testing.T) {
	srv, err := fakes3.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.CreateBucket("recordings")
	root := t.TempDir()
	a := mkRecording(t, root, "session-a", 1000)
	b := mkRecording(t, root, "session-b", 1000)

	// A missing bucket: --once fails, both recordings stay, marked failed.
	code, _, stderr := runOnce(t, env(srv.URL, fakes3.AccessKey, fakes3.SecretKey, "JIBRI_UPLOAD_BUCKET=absent"), "--once", "--root", root)
	if code != 1 || !strings.Contains(stderr, "2 failure(s)") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, dir := range []string{a, b} {
		if st, _, _ := recdir.Read(dir); st.Outcome != recdir.OutcomePermanent || st.Attempts != 1 {
			t.Fatalf("%s: %+v", dir, st)
		}
	}
	code, out, _ := runOnce(t, env("", "", ""), "status", "--retry-after", "1h", root)
	if code != 0 || !strings.Contains(out, "session-a") || !strings.Contains(out, "failed") || !strings.Contains(out, "2 recording(s)") {
		t.Fatalf("status exit %d:\n%s", code, out)
	}
	code, out, _ = runOnce(t, env("", "", ""), "status", "--json", root)
	var doc struct {
		Recordings []struct {
			Session  string `json:"session"`
			State    string `json:"state"`
			Attempts int    `json:"attempts"`
		} `json:"recordings"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Recordings) != 2 || doc.Recordings[0].Attempts != 1 {
		t.Fatalf("status --json exit %d:\n%s", code, out)
	}

	// Fixed bucket, retry due: --once uploads both and exits 0.
	code, stdout, stderr := runOnce(t, env(srv.URL, fakes3.AccessKey, fakes3.SecretKey), "--once", "--root", root, "--retry-after", "1ms", "--retry-after-max", "1ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, dir := range []string{a, b} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s not finalized", dir)
		}
	}
	// stdout carries only EMF JSON lines.
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if !json.Valid([]byte(line)) || !strings.Contains(line, `"_aws"`) {
			t.Fatalf("stdout line is not EMF: %q", line)
		}
	}
}

// TestSIGTERMDuringUpload: a first SIGTERM stops new work, a second aborts
// the in-flight upload; the recording stays intact and marked, and the next
// start uploads it.
func TestSIGTERMDuringUpload(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	srv.Bucket(t, "recordings")
	root := t.TempDir()
	dir := mkRecording(t, root, "big-session", 400<<20)
	media := filepath.Join(dir, "room_2026-11-24-10-00-00.mp4")
	before, _ := os.Stat(media)
	e := env(srv.Endpoint, miniotest.AccessKey, miniotest.SecretKey, "JIBRI_UPLOAD_CONCURRENCY=1")

	cmd := exec.Command(binary, "--root", root, "--listen", "127.0.0.1:0", "--settle", "1ms", "--drain-timeout", "2m")
	cmd.Env = e
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for lock.Holder(dir) == "" {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("upload never started:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(50 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("second signal did not abort")
	}
	if !strings.Contains(stderr.String(), "second signal") {
		t.Errorf("no abort message:\n%s", stderr.String())
	}
	after, err := os.Stat(media)
	if err != nil || after.Size() != before.Size() {
		t.Fatalf("recording not intact: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal("directory gone after abort")
	}
	st, _, _ := recdir.Read(dir)
	if st.Outcome != recdir.OutcomeFailed || st.Attempts != 1 {
		t.Fatalf("state after abort: %+v", st)
	}

	code, _, errOut := runOnce(t, e, "--once", "--root", root, "--retry-after", "1ms", "--retry-after-max", "1ms")
	if code != 0 {
		t.Fatalf("restart exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("not uploaded on the next start")
	}
}

// Defect 13: a runtime failure exits 1, not 2 ("usage"); a usage error
// still exits 2.
func TestExitCodes(t *testing.T) {
	root := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	code, _, stderr := runOnce(t, env("http://127.0.0.1:1", "a", "b"), "--root", root, "--listen", busy.Addr().String())
	if code != 1 {
		t.Fatalf("listener in use: exit %d, want 1\n%s", code, stderr)
	}
	if code, _, _ := runOnce(t, env("http://127.0.0.1:1", "a", "b"), "--root", root, "--no-such-flag"); code != 2 {
		t.Fatalf("unknown flag: exit %d, want 2", code)
	}
	if code, _, _ := runOnce(t, env("http://127.0.0.1:1", "a", "b", "JIBRI_UPLOAD_SETTLE=soon"), "--root", root, "--once"); code != 2 {
		t.Fatalf("bad variable: exit %d, want 2", code)
	}
}

// Defect 13: every watcher flag has its variable, so `recwatch status` run
// on its own (with the task's environment) agrees with the watcher on what
// is stuck.
func TestStatusReadsWatcherVariables(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "s1")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "room_2026-11-24-10-00-00.mp4"), []byte("v"), 0o644)
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte("{}"), 0o644)
	if err := recdir.Save(dir, &recdir.Record{Attempts: 2, Outcome: recdir.OutcomeFailed, LastError: "boom", Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, out, _ := runOnce(t, env("", "", ""), "status", root)
	if !strings.Contains(out, "failed") {
		t.Fatalf("default max attempts:\n%s", out)
	}
	_, out, _ = runOnce(t, env("", "", "", "JIBRI_UPLOAD_MAX_ATTEMPTS=2"), "status", root)
	if !strings.Contains(out, "stuck") {
		t.Fatalf("JIBRI_UPLOAD_MAX_ATTEMPTS=2 not applied:\n%s", out)
	}
}
