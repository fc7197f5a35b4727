package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/testbin"
)

var finalizeBin, recwatchBin string

func TestMain(m *testing.M) {
	// FAULTS_BINARIES runs the suite against binaries built elsewhere (an
	// earlier release, to show which rows it fails).
	if prebuilt := os.Getenv("FAULTS_BINARIES"); prebuilt != "" {
		finalizeBin, recwatchBin = filepath.Join(prebuilt, "finalize"), filepath.Join(prebuilt, "recwatch")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "faults-bin-")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755) // the suite runs binaries as nobody too
	if finalizeBin, err = testbin.Build(dir, "finalize", "../../cmd/finalize"); err == nil {
		recwatchBin, err = testbin.Build(dir, "recwatch", "../../cmd/recwatch")
	}
	if err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type harness struct {
	srv    *miniotest.Server
	bucket string
	client *s3.Client
	proxy  *proxy
}

// recFixture is one recording with the hashes of its original media.
type recFixture struct {
	root, dir, session string
	sums               map[string][32]byte
}

func (h *harness) env(extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"AWS_ACCESS_KEY_ID=" + miniotest.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + miniotest.SecretKey,
		"AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"JIBRI_UPLOAD_BUCKET=" + h.bucket,
		"JIBRI_UPLOAD_ENDPOINT=" + h.proxy.srv.URL,
		"JIBRI_UPLOAD_PATH_STYLE=true",
		"JIBRI_UPLOAD_PART_SIZE=5",
		"JIBRI_UPLOAD_CONCURRENCY=2",
		"JIBRI_UPLOAD_SSE=aes256",
		// The rows count parts and inject faults into them: the store
		// probe of --verify auto (tested in internal/probe) would take
		// some of them. MinIO's probe answer is checksum anyway.
		"JIBRI_UPLOAD_VERIFY=checksum",
		"JIBRI_UPLOAD_ATTEMPTS=3",
		"JIBRI_UPLOAD_RETRY_BASE=100ms",
		"JIBRI_UPLOAD_RETRY_MAX=500ms",
		"JIBRI_UPLOAD_DEADLINE=60s",
		"JIBRI_UPLOAD_IO_TIMEOUT=2s",
		"JIBRI_UPLOAD_LOG_FORMAT=json",
		"JIBRI_UPLOAD_METRICS_FILE=none",
	}, extra...)
}

// recording writes media files of the given sizes (random bytes) and a
// metadata.json into root/session.
func newRecording(t *testing.T, root, session string, sizes map[string]int64, meta string) *recFixture {
	t.Helper()
	dir := filepath.Join(root, session)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &recFixture{root: root, dir: dir, session: session, sums: map[string][32]byte{}}
	for name, size := range sizes {
		b := make([]byte, size)
		rand.Read(b)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		r.sums[name] = sha256.Sum256(b)
	}
	if meta == "" {
		meta = `{"meeting_url":"https://meet.example.com/faults"}`
	}
	if err := os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

func media(name string) map[string]int64 { return map[string]int64{name: 40 << 20} }

type result struct {
	code           int
	stdout, stderr string
}

// errLine returns the error finalize or recwatch printed, shortened.
func (r result) errLine() string {
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "finalize: ") || strings.HasPrefix(l, "recwatch: ") {
			if len(l) > 110 {
				l = l[:110] + "..."
			}
			return l
		}
	}
	return ""
}

func run(t *testing.T, bin string, env []string, cred *syscall.Credential, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// outcome is what ended up where, for one or more recordings.
type outcome struct {
	in, verified, localLeft, deletedUnverified, duplicates int
}

// evaluate compares S3 and the local disk with the original bytes.
func (h *harness) evaluate(t *testing.T, recs ...*recFixture) outcome {
	t.Helper()
	ctx := context.Background()
	o := outcome{in: len(recs)}
	versions := map[string]int{}
	var marker, vmarker *string
	for {
		out, err := h.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(h.bucket), KeyMarker: marker, VersionIdMarker: vmarker})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Versions {
			versions[aws.ToString(v.Key)]++
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		marker, vmarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	for _, r := range recs {
		var m *manifest.Manifest
		for key := range versions {
			if strings.Contains(key, "/"+r.session+"/") && strings.HasSuffix(key, "/"+manifest.FileName) {
				if b := h.get(t, key); b != nil {
					m, _ = manifest.Decode(b)
				}
			}
		}
		inS3 := map[string]bool{}
		if m != nil {
			for _, f := range m.Files {
				if want, ok := r.sums[f.Name]; ok {
					if b := h.get(t, f.Key); b != nil && sha256.Sum256(b) == want {
						inS3[f.Name] = true
					}
				}
				if versions[f.Key] > 1 {
					o.duplicates += versions[f.Key] - 1
				}
			}
		}
		allThere := m != nil
		for name := range r.sums {
			_, err := os.Stat(filepath.Join(r.dir, name))
			local := err == nil
			if local {
				o.localLeft++
			}
			if !inS3[name] {
				allThere = false
				if !local {
					o.deletedUnverified++
				}
			}
		}
		if allThere {
			o.verified++
		}
	}
	return o
}

func (h *harness) get(t *testing.T, key string) []byte {
	out, err := h.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(key)})
	if err != nil {
		return nil
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return b
}

// row is one line of the printed table.
type row struct {
	fault, injection string
	outcome
	parts   string
	err     string
	watcher string // watcher CPU and log volume, where measured
}

func (r row) String() string {
	w := r.watcher
	if w == "" {
		w = "-"
	}
	return fmt.Sprintf("| %s | %s | %d | %d | %d | %d | %d | %s | %s | %s |", r.fault, r.injection, r.in, r.verified, r.localLeft,
		r.deletedUnverified, r.duplicates, r.parts, w, strings.ReplaceAll(r.err, "|", "/"))
}
