package finalize

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/fakes3"
	"github.com/jitsi-recorder/jibri-s3/internal/lock"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

const (
	media   = "weekly-sync_2026-11-24-09-30-00.mp4"
	metaTok = `{"meeting_url":"https://meet.example.com/acme/weekly-sync?jwt=SECRET-JWT","participants":[{"user":{"name":"A"}}],"upload_credentials":{"token":"SECRET-TOKEN"},"api_token":"SECRET-API"}`
)

func fake(t *testing.T) (*fakes3.Server, s3conn.Options) {
	t.Helper()
	srv, err := fakes3.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.CreateBucket("recordings"); err != nil {
		t.Fatal(err)
	}
	return srv, srv.Conn()
}

func TestFinalizeFlow(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	dir := recDir(t)
	video := randomBytes(t, 2<<20)
	writeFile(t, dir, media, video)
	writeFile(t, dir, "chat.txt", []byte("hello"))
	writeFile(t, dir, "metadata.json", []byte(metaTok))

	res, err := e.runner.Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.DirRemoved {
		t.Fatal("directory not removed")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("recording directory still exists")
	}
	want := "recordings/2026/11/24/acme/weekly-sync/7d3e6c1a-0b2f-4a5e-9c8d-1e2f3a4b5c6d/"
	if res.ManifestKey != want+"manifest.json" {
		t.Fatalf("manifest key %q", res.ManifestKey)
	}
	if got := e.get(t, want+media); string(got) != string(video) {
		t.Fatal("uploaded media differs")
	}
	m := e.manifest(t, res.ManifestKey)
	if len(m.Files) != 2 || m.Recording.Room != "weekly-sync" || m.Recording.Tenant != "acme" || m.Recording.Participants != 1 || m.Recording.MetadataStatus != "ok" {
		t.Fatalf("manifest %+v", m)
	}
	raw := string(e.get(t, res.ManifestKey))
	head, err := e.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("recordings"), Key: aws.String(want + media)})
	if err != nil {
		t.Fatal(err)
	}
	spool, _ := os.ReadFile(e.spool)
	for _, where := range []string{raw, strings.Join(mapValues(head.Metadata), " "), string(spool)} {
		for _, secret := range []string{"SECRET-JWT", "SECRET-TOKEN", "SECRET-API"} {
			if strings.Contains(where, secret) {
				t.Errorf("secret %s leaked: %s", secret, where)
			}
		}
	}
	if head.Metadata["room"] != "weekly-sync" || head.Metadata["participants"] != "1" || head.Metadata["tenant"] != "acme" {
		t.Errorf("object metadata %v", head.Metadata)
	}
	if !strings.Contains(string(spool), `"RecordingsUploaded":1`) {
		t.Errorf("no success metric: %s", spool)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestCorruptMetadataFallback(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(`{"meeting_url":"https://meet.example.com/x","upload_credentials":{"token":"SECRET`))
	res, err := e.runner.Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	m := e.manifest(t, res.ManifestKey)
	if m.Recording.MetadataStatus != string(recording.MetadataCorrupt) || m.Recording.Room != "weekly-sync" || m.Metadata != nil {
		t.Fatalf("%+v", m.Recording)
	}
	if strings.Contains(string(e.get(t, res.ManifestKey)), "SECRET") {
		t.Fatal("corrupt metadata leaked into the manifest")
	}
}

func TestSymlinkAndEmptyFilesStay(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(`{}`))
	writeFile(t, dir, "empty.mp4", nil)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd.mp4")); err != nil {
		t.Fatal(err)
	}
	passwd, _ := os.ReadFile("/etc/passwd")
	res, err := e.runner.Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.DirRemoved || len(res.Files) != 1 || len(res.Leftovers) != 2 {
		t.Fatalf("%+v", res)
	}
	if after, _ := os.ReadFile("/etc/passwd"); string(after) != string(passwd) {
		t.Fatal("/etc/passwd changed")
	}
	if _, err := os.Lstat(filepath.Join(dir, "passwd.mp4")); err != nil {
		t.Fatal("symlink was removed")
	}
	if _, err := os.Stat(filepath.Join(dir, media)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("verified media not deleted")
	}
	st, _, _ := recdir.Read(dir)
	if !st.IsCommitted() || st.Manifest != res.ManifestKey || len(st.Leftovers) != 2 {
		t.Fatalf("record %+v", st)
	}
	// metadata.json is in the manifest (filtered); the file itself, which can
	// hold upload_credentials, must not stay behind the refused entry.
	if _, err := os.Stat(filepath.Join(dir, "metadata.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("metadata.json kept beside a refused entry of a committed recording")
	}
	for _, s := range e.manifest(t, res.ManifestKey).Skipped {
		if s.Name == "passwd.mp4" && !strings.Contains(s.Reason, "not followed") {
			t.Errorf("skip reason %q", s.Reason)
		}
	}
}

func TestBadInputsKeepRecording(t *testing.T) {
	tests := []struct {
		name    string
		bucket  string
		conn    func(t *testing.T) s3conn.Options
		setup   func(t *testing.T, dir string)
		want    error
		status  recdir.Outcome
		noState bool
	}{
		{name: "bucket missing", bucket: "no-such-bucket", want: ErrUpload, status: recdir.OutcomePermanent},
		{name: "endpoint down", conn: func(t *testing.T) s3conn.Options {
			_, c := fake(t)
			l, _ := net.Listen("tcp", "127.0.0.1:0")
			c.Endpoint = "http://" + l.Addr().String()
			l.Close()
			return c
		}, want: ErrUpload, status: recdir.OutcomeFailed},
		{name: "multipart object without checksum cannot be proven", setup: func(t *testing.T, dir string) {
			writeFile(t, dir, "big_2026-11-24-09-30-00.mp4", randomBytes(t, 6<<20))
		}, want: ErrVerify, status: recdir.OutcomeMismatch},
		{name: "not a recording", setup: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "metadata.json"))
			os.Remove(filepath.Join(dir, media))
			writeFile(t, dir, "notes.txt", []byte("x"))
			os.Mkdir(filepath.Join(dir, "sub"), 0o755)
		}, want: ErrUsage, noState: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var conn s3conn.Options
			if tt.conn != nil {
				conn = tt.conn(t)
			} else {
				_, conn = fake(t)
			}
			bucket := tt.bucket
			if bucket == "" {
				bucket = "recordings"
			}
			e := newEnv(t, conn, envOpts{bucket: bucket, deadline: 5 * time.Second})
			dir := recDir(t)
			writeFile(t, dir, media, randomBytes(t, 1000))
			writeFile(t, dir, "metadata.json", []byte(`{"meeting_url":"https://m.example/r"}`))
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			before := snapshot(t, dir)
			_, err := e.runner.Run(context.Background(), dir)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			t.Logf("error shown: %v", err)
			assertIntact(t, dir, before)
			st, _, _ := recdir.Read(dir)
			if tt.noState {
				if st.Outcome != "" || st.Attempts != 0 {
					t.Fatalf("state written for %s: %+v", tt.name, st)
				}
				return
			}
			if st.Outcome != tt.status || st.Attempts != 1 || st.LastError == "" {
				t.Fatalf("state %+v", st)
			}
			// A second run counts the attempt.
			_, _ = e.runner.Run(context.Background(), dir)
			if st, _, _ := recdir.Read(dir); st.Attempts != 2 {
				t.Fatalf("attempts after rerun: %d", st.Attempts)
			}
		})
	}
}

func TestLockedRecordingUntouched(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(`{}`))
	l, err := lock.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	before := snapshot(t, dir)
	if _, err := e.runner.Run(context.Background(), dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("got %v", err)
	}
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Fatalf("locked run changed the directory: %v -> %v", before, after)
	}
}

func TestFileGrowingIsNeverDeleted(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(`{}`))
	// Wrap the uploader so the file grows between the scan and the upload,
	// as when ffmpeg is still writing.
	e.runner.up = growingUploader{Uploader: e.runner.up, path: filepath.Join(dir, media)}
	_, err := e.runner.Run(context.Background(), dir)
	if !errors.Is(err, ErrUpload) || !strings.Contains(err.Error(), "still being written") {
		t.Fatalf("got %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, media)); err != nil || fi.Size() != 1010 {
		t.Fatalf("growing file lost: %v", err)
	}
}

// TestDeadlineKeepsRecording: an endpoint that accepts connections and never
// answers must not hold Jibri forever; the run ends at its deadline with the
// recording marked for the watcher.
func TestDeadlineKeepsRecording(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	_, conn := fake(t)
	conn.Endpoint = "http://" + l.Addr().String()
	e := newEnv(t, conn, envOpts{bucket: "recordings", deadline: time.Second, attempts: 5})
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(`{}`))
	before := snapshot(t, dir)
	start := time.Now()
	_, err = e.runner.Run(context.Background(), dir)
	if !errors.Is(err, ErrUpload) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("deadline not enforced: %s", d)
	}
	assertIntact(t, dir, before)
	if st, _, _ := recdir.Read(dir); st.Outcome != recdir.OutcomeDeadline {
		t.Fatalf("state %+v", st)
	}
}
