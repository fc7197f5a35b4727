package compat

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/s3servers"
)

// Binaries are the programs a round trip runs.
type Binaries struct {
	Finalize, Recwatch string
	help               string // finalize --help, read once by Supported
}

// Trip sizes: a 16 MiB file in 5 MiB parts is four parts; finalize is
// killed after the second is stored.
const (
	partMiB   = 5
	fileSize  = 3*partMiB<<20 + 1<<20
	killAfter = 2
	mediaName = "room_2026-12-02-08-00-00.mp4"
)

// Setting is one configuration a round trip runs with: CLI flag spellings
// (what the row shows) and the environment variables that set them.
type Setting struct {
	Flags string   // e.g. "--sse none"; "" for the defaults
	Env   []string // e.g. JIBRI_UPLOAD_SSE=none
}

// Trip is what one round trip did.
type Trip struct {
	Setting    Setting
	KillCode   int // finalize's exit status (137: killed as planned)
	WatchCode  int // recwatch --once's exit status
	Committed  bool
	BytesMatch bool // the object S3 returns is the source file
	LocalLeft  bool // the media file is still on disk
	Parts      int  // in the object, from the manifest
	PartsSent  int  // by the run that committed, from the manifest
	Error      string
}

// Lost reports a file deleted without a verified copy in the store: the one
// outcome no store may produce.
func (tr Trip) Lost() bool { return !tr.LocalLeft && !(tr.Committed && tr.BytesMatch) }

// Summary describes the trip in a matrix cell.
func (tr Trip) Summary() string {
	switch {
	case tr.Lost():
		return "LOST: file deleted without a verified copy"
	case tr.Committed && tr.PartsSent < tr.Parts:
		return fmt.Sprintf("committed, bytes equal; resumed: sent %d of %d parts after the kill", tr.PartsSent, tr.Parts)
	case tr.Committed:
		return fmt.Sprintf("committed, bytes equal; sent all %d parts again after the kill (no resume)", tr.Parts)
	default:
		return "refused to commit, files kept: " + tr.Error
	}
}

// RoundTrip writes a recording under a fresh root, runs finalize with a
// failpoint that SIGKILLs it after the second part is stored, then
// recwatch --once, and compares what the store holds with the source.
func RoundTrip(t testing.TB, bins Binaries, srv *s3servers.Server, set Setting, session string) Trip {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, session)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := make([]byte, fileSize)
	_, _ = rand.Read(src)
	if err := os.WriteFile(filepath.Join(dir, mediaName), src, 0o644); err != nil {
		t.Fatal(err)
	}
	meta := `{"meeting_url":"https://meet.example.com/compat"}`
	if err := os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + root,
		"JIBRI_UPLOAD_KEY_TEMPLATE={prefix}/{session}/{file}",
		fmt.Sprintf("JIBRI_UPLOAD_PART_SIZE=%d", partMiB),
		"JIBRI_UPLOAD_CONCURRENCY=1", // the kill falls after exactly killAfter parts
		"JIBRI_UPLOAD_ATTEMPTS=2",
		"JIBRI_UPLOAD_RETRY_BASE=100ms",
		"JIBRI_UPLOAD_RETRY_MAX=500ms",
		"JIBRI_UPLOAD_DEADLINE=2m",
		"JIBRI_UPLOAD_LOG_FORMAT=json",
		"JIBRI_UPLOAD_METRICS_FILE=none",
		"JIBRI_UPLOAD_HOLD=0",
	}, srv.Env()...), set.Env...)

	tr := Trip{Setting: set}
	var out string
	tr.KillCode, out = run(t, bins.Finalize, append(env, fmt.Sprintf("JIBRI_UPLOAD_FAILPOINT=part-uploaded:%d", killAfter)), dir)
	if tr.KillCode != 128+int(syscall.SIGKILL) {
		tr.Error = "finalize was not killed at the failpoint: " + errorLine(out)
	}
	tr.WatchCode, out = run(t, bins.Recwatch, env, "--once", "--root", root, "--settle", "1ms", "--listen", "127.0.0.1:0")
	if os.Getenv("COMPAT_DEBUG") != "" {
		t.Logf("recwatch stderr:\n%s", out)
	}
	if tr.Error == "" && tr.WatchCode != 0 {
		tr.Error = errorLine(out)
	}
	// The key is the same in every row: say what happened, not where.
	tr.Error = strings.ReplaceAll(tr.Error, "recordings/"+session+"/"+mediaName+": ", "")
	_, err := os.Stat(filepath.Join(dir, mediaName))
	tr.LocalLeft = err == nil

	m := fetchManifest(t, srv, "recordings/"+session+"/"+manifest.FileName)
	if m != nil {
		tr.Committed = true
		for _, f := range m.Files {
			if f.Name == mediaName {
				tr.Parts, tr.PartsSent = f.Parts, f.PartsSent
				got := get(t, srv, f.Key)
				tr.BytesMatch = got != nil && sha256.Sum256(got) == sha256.Sum256(src)
			}
		}
		if !tr.BytesMatch && tr.Error == "" {
			tr.Error = "the manifest is committed but the object differs from the source"
		}
	} else if tr.Error == "" {
		tr.Error = "no manifest in the bucket after recwatch exited 0"
	}
	return tr
}

// commitsWith lists the settings with which the round trip committed.
func commitsWith(trips []Trip) string {
	var ok []string
	for _, tr := range trips {
		if tr.Committed && tr.BytesMatch {
			f := tr.Setting.Flags
			if f == "" {
				f = "defaults"
			}
			ok = append(ok, "`"+f+"`")
		}
	}
	if len(ok) == 0 {
		return "none"
	}
	return strings.Join(ok, ", ")
}

// Short is Summary for a table cell: a refusal's reason without the
// wrapping layers and the hint (the store's section has them in full).
func (tr Trip) Short() string {
	if tr.Committed || tr.Lost() {
		return tr.Summary()
	}
	e := tr.Error
	for _, layer := range []string{"upload failed, local files kept: ", "verification failed, local files kept: ", "upload: ", "verification failed: "} {
		e = strings.TrimPrefix(e, layer)
	}
	if i := strings.Index(e, " ("); i > 0 {
		e = e[:i]
	}
	return "refused to commit, files kept: " + e
}

// run runs bin and returns its exit status (128+signal when killed) and
// its standard error.
func run(t testing.TB, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), stderr.String()
		}
		return ee.ExitCode(), stderr.String()
	case err != nil:
		t.Fatalf("compat: cannot run %s: %v", bin, err)
	}
	return 0, stderr.String()
}

// errorLine returns the first error the program reported: the error of
// its first JSON log line at level error, else its "finalize: ..." or
// "recwatch: ..." line.
func errorLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		var rec struct {
			Level, Message, Error string
		}
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Level == "error" {
			if rec.Error != "" {
				return rec.Error
			}
			return rec.Message
		}
	}
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "finalize: ") || strings.HasPrefix(l, "recwatch: ") {
			return l
		}
	}
	if s := strings.TrimSpace(stderr); s != "" {
		return s[:min(len(s), 300)]
	}
	return "(no error printed)"
}

func fetchManifest(t testing.TB, srv *s3servers.Server, key string) *manifest.Manifest {
	b := get(t, srv, key)
	if b == nil {
		return nil
	}
	m, err := manifest.Decode(b)
	if err != nil {
		t.Errorf("compat: %s: %s holds no valid manifest: %v", srv.Kind.Name, key, err)
		return nil
	}
	return m
}

func get(t testing.TB, srv *s3servers.Server, key string) []byte {
	out, err := srv.Client(t).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil
	}
	return b
}
