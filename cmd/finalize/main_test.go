package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/jitsi-recorder/jibri-s3/internal/fakes3"
	"github.com/jitsi-recorder/jibri-s3/internal/lock"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/testbin"
)

var binary string

// TestMain builds the real binary once; every test runs it the way Jibri
// does: argv [program, dir], no shell, stdin a pipe nobody writes to.
func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, &binary, "finalize", "."))
}

type result struct {
	code           int
	stdout, stderr string
}

func runBinary(t *testing.T, env []string, cred *syscall.Credential, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Args = append([]string{binary}, args...)
	cmd.Env = env
	// Jibri gives the program a stdin pipe that nobody writes to or closes.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	cmd.Stdin = r
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err = cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// baseEnv isolates the binary from this machine's AWS settings.
func baseEnv(t *testing.T, endpoint string, extra ...string) []string {
	home := t.TempDir()
	os.Chmod(home, 0o755)
	os.Chmod(filepath.Dir(home), 0o755)
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_ACCESS_KEY_ID=" + fakes3.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + fakes3.SecretKey,
		"AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"JIBRI_UPLOAD_BUCKET=recordings",
		"JIBRI_UPLOAD_ENDPOINT=" + endpoint,
		"JIBRI_UPLOAD_PATH_STYLE=true",
		"JIBRI_UPLOAD_PART_SIZE=5",
		"JIBRI_UPLOAD_DEADLINE=20s",
		"JIBRI_UPLOAD_ATTEMPTS=2",
		"JIBRI_UPLOAD_RETRY_BASE=10ms",
		"JIBRI_UPLOAD_RETRY_MAX=50ms",
	}, extra...)
}

func server(t *testing.T) *fakes3.Server {
	t.Helper()
	srv, err := fakes3.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.CreateBucket("recordings"); err != nil {
		t.Fatal(err)
	}
	return srv
}

// recording creates <tmp>/recordings/<session> readable by everyone.
func recording(t *testing.T, size int) string {
	t.Helper()
	base := t.TempDir()
	os.Chmod(base, 0o755)
	os.Chmod(filepath.Dir(base), 0o755) // the per-test parent is 0700
	dir := filepath.Join(base, "recordings", "a1b2c3d4-e5f6-4711-8899-aabbccddeeff")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("jibri-recording-"), size/16+1)[:size]
	if err := os.WriteFile(filepath.Join(dir, "board_2026-11-24-10-00-00.mp4"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	meta := `{"meeting_url":"https://meet.example.com/board?jwt=LEAKED-JWT","participants":[],"upload_credentials":{"token":"LEAKED-TOKEN"}}`
	if err := os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestHelpDocumentsExitCodes(t *testing.T) {
	r := runBinary(t, nil, nil, "--help")
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	for _, want := range []string{"Exit codes", "3  locked", "4  upload failed", "5  verification mismatch", "JIBRI_UPLOAD_BUCKET"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestJibriCallSucceeds(t *testing.T) {
	srv := server(t)
	dir := recording(t, 1<<20)
	r := runBinary(t, baseEnv(t, srv.URL, "JIBRI_UPLOAD_LOG_FORMAT=json"), nil, dir)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "finalized "+dir) || !strings.Contains(r.stdout, "manifest s3://recordings/") {
		t.Errorf("stdout: %s", r.stdout)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Error("directory not removed")
	}
	for _, secret := range []string{"LEAKED-JWT", "LEAKED-TOKEN"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("output leaks %s", secret)
		}
	}
	// JSON log lines on stderr when not on a terminal.
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("not a JSON log line: %q", line)
		}
	}
	spool, err := os.ReadFile(filepath.Join(filepath.Dir(dir), ".finalize-metrics", "emf.jsonl"))
	if err != nil || !strings.Contains(string(spool), `"RecordingsUploaded":1`) {
		t.Errorf("metrics spool: %v %s", err, spool)
	}
}

func TestExitCodes(t *testing.T) {
	srv := server(t)
	tests := []struct {
		name  string
		env   []string
		setup func(t *testing.T, dir string) func()
		size  int
		code  int
		msg   string
	}{
		{name: "no bucket configured", env: []string{"JIBRI_UPLOAD_BUCKET="}, code: 2, msg: "no bucket"},
		{name: "bad template", env: []string{"JIBRI_UPLOAD_KEY_TEMPLATE={room}/{file}"}, code: 2, msg: "{session}"},
		{name: "bucket missing", env: []string{"JIBRI_UPLOAD_BUCKET=absent"}, code: 4, msg: "bucket does not exist"},
		{name: "locked", setup: func(t *testing.T, dir string) func() {
			l, err := lock.Acquire(dir)
			if err != nil {
				t.Fatal(err)
			}
			return l.Release
		}, code: 3, msg: "locked"},
		{name: "not a recording", setup: func(t *testing.T, dir string) func() {
			os.Mkdir(filepath.Join(dir, "nested"), 0o755)
			return func() {}
		}, code: 2, msg: "not a jibri recording"},
		// gofakes3 returns no checksum for a multipart object: with
		// --verify checksum that is unprovable. (With auto the probe finds
		// that out and reads the object back: TestAutoReadsBackOnGofakes3.)
		{name: "unprovable multipart", env: []string{"JIBRI_UPLOAD_VERIFY=checksum"}, size: 6 << 20, code: 5, msg: "no CRC32C checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.size
			if size == 0 {
				size = 1000
			}
			dir := recording(t, size)
			if tt.setup != nil {
				defer tt.setup(t, dir)()
			}
			before, _ := os.ReadFile(filepath.Join(dir, "board_2026-11-24-10-00-00.mp4"))
			r := runBinary(t, baseEnv(t, srv.URL, tt.env...), nil, dir)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Fatalf("exit %d (want %d), stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "hint:") {
				t.Errorf("no hint in %q", r.stderr)
			}
			after, err := os.ReadFile(filepath.Join(dir, "board_2026-11-24-10-00-00.mp4"))
			if err != nil || !bytes.Equal(before, after) {
				t.Fatal("media changed or deleted")
			}
		})
	}
}

// TestAutoReadsBackOnGofakes3: the same multipart upload with the default
// --verify auto is proven by reading it back, and the manifest says so.
func TestAutoReadsBackOnGofakes3(t *testing.T) {
	srv := server(t)
	dir := recording(t, 6<<20)
	r := runBinary(t, baseEnv(t, srv.URL), nil, dir)
	if r.code != 0 || !strings.Contains(r.stderr, `"verify":"readback"`) {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), ".finalize-probe.json")); err != nil {
		t.Errorf("probe answer not cached in the recordings root: %v", err)
	}
}

// TestReadOnlyDirectory: the upload succeeds, cleanup fails loudly (exit 6)
// and nothing is half-deleted. As root, permissions do not bind, so the
// binary runs as nobody against a directory it can read but not write.
func TestReadOnlyDirectory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	srv := server(t)
	dir := recording(t, 2000)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	before, _ := os.ReadDir(dir)
	r := runBinary(t, baseEnv(t, srv.URL, "JIBRI_UPLOAD_METRICS_FILE=none"), cred, dir)
	if r.code != 6 || !strings.Contains(r.stderr, "not writable") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Fatalf("entries changed: %v -> %v", before, after)
	}
	t.Logf("stderr:\n%s", r.stderr)
	if !strings.Contains(r.stderr, "manifest") {
		t.Errorf("stderr does not say the recording is committed: %s", r.stderr)
	}
}

func TestRerunByHandAfterFailure(t *testing.T) {
	srv := server(t)
	dir := recording(t, 1000)
	r := runBinary(t, baseEnv(t, srv.URL, "JIBRI_UPLOAD_BUCKET=absent"), nil, dir)
	if r.code != 4 {
		t.Fatalf("first run exit %d", r.code)
	}
	if st, _, _ := recdir.Read(dir); st.Outcome != recdir.OutcomePermanent || st.Attempts != 1 {
		t.Fatalf("state after failure %+v", st)
	}
	r = runBinary(t, baseEnv(t, srv.URL, "JIBRI_UPLOAD_LOG_FORMAT=console"), nil, dir)
	if r.code != 0 || !strings.Contains(r.stdout, "attempt 2") {
		t.Fatalf("rerun exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
