package upload

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

func TestParseVerify(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", VerifyAuto, true},
		{"auto", VerifyAuto, true},
		{"Checksum", VerifyChecksum, true},
		{" etag ", VerifyETag, true},
		{"readback", VerifyReadback, true},
		{"none", "", false},
		{"md5", "", false},
	}
	for _, tt := range tests {
		got, err := ParseVerify(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseVerify(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestMultipartETag(t *testing.T) {
	// S3's documented construction: MD5 over the binary part MD5s, then
	// "-<parts>". Two parts "a" and "b".
	a, b := md5.Sum([]byte("a")), md5.Sum([]byte("b"))
	cat := append(append([]byte{}, a[:]...), b[:]...)
	sum := md5.Sum(cat)
	want := hex.EncodeToString(sum[:]) + "-2"
	if got := multipartETag([][md5.Size]byte{a, b}); got != want {
		t.Fatalf("multipartETag = %s, want %s", got, want)
	}
}

// TestAutoNeedsAnAnswer: auto never falls back to no verification: a probe
// that fails fails the upload (the recording stays on disk), and the next
// upload asks again.
func TestAutoNeedsAnAnswer(t *testing.T) {
	dir := t.TempDir()
	m := mediaFile(t, dir, "a.mp4", 1000, 1)
	calls := 0
	u := New(nil, Options{Bucket: "b", Verify: VerifyAuto, ResolveVerify: func(context.Context) (string, error) {
		calls++
		return "", errors.New("store unreachable")
	}})
	for i := 0; i < 2; i++ {
		if _, err := u.Upload(context.Background(), m, Object{Key: "k"}); err == nil || !strings.Contains(err.Error(), "store unreachable") {
			t.Fatalf("upload with a failing probe: %v", err)
		}
	}
	if calls != 2 {
		t.Errorf("probe asked %d times, want 2 (a failure is not cached)", calls)
	}
	u = New(nil, Options{Bucket: "b", Verify: VerifyAuto, ResolveVerify: func(context.Context) (string, error) { return "", nil }})
	if _, err := u.Upload(context.Background(), m, Object{Key: "k"}); err == nil {
		t.Fatal("a probe that chose no mode was accepted")
	}
}

// TestVerifyModesMinIO uploads single-part and multipart files in each mode
// and checks the bytes stored and the mode reported.
func TestVerifyModesMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "modes")
	client := srv.Client(t)
	dir := t.TempDir()
	for _, mode := range []string{VerifyChecksum, VerifyETag, VerifyReadback} {
		for _, size := range []int64{3 << 20, 17<<20 + 12345} {
			m := mediaFile(t, dir, fmt.Sprintf("%s-%d.mp4", mode, size), size, uint64(size))
			u := New(client, Options{Bucket: bucket, PartSize: 5 << 20, Concurrency: 3, Checksum: checksum.CRC32C, SSE: SSES3, Verify: mode})
			v, err := u.Upload(context.Background(), m, Object{Key: "rec/" + m.Name, ContentType: ContentType(m.Name)})
			if err != nil {
				t.Fatalf("%s %d: %v", mode, size, err)
			}
			if v.Verification() != mode {
				t.Errorf("%s: verified by %q", mode, v.Verification())
			}
			want, _ := os.ReadFile(m.Path)
			if got := download(t, client, bucket, v.Key(), v.VersionID()); !bytes.Equal(got, want) {
				t.Fatalf("%s %d: stored bytes differ", mode, size)
			}
			if v.Checksum() != checksum.CRC32C.Sum(want) {
				t.Errorf("%s: local checksum %s, want %s", mode, v.Checksum(), checksum.CRC32C.Sum(want))
			}
		}
	}
}

// lyingStore is MinIO behind a proxy that changes what the store reports:
// edit rewrites every response.
func lyingStore(t *testing.T, endpoint string, edit func(*http.Response) error) string {
	t.Helper()
	u, _ := url.Parse(endpoint)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = edit
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestVerifyModesCatchLies: each mode refuses an object when the store's
// answer does not prove the bytes: a rewritten ETag for etag, a flipped byte
// in what is read back for readback.
func TestVerifyModesCatchLies(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "lies")
	dir := t.TempDir()
	tests := []struct {
		name, mode string
		edit       func(*http.Response) error
	}{
		{"etag rewritten", VerifyETag, func(r *http.Response) error {
			if r.Request.Method == http.MethodHead {
				r.Header.Set("ETag", `"00000000000000000000000000000000-4"`)
			}
			return nil
		}},
		{"a byte flipped on read-back", VerifyReadback, func(r *http.Response) error {
			if r.Request.Method == http.MethodGet && strings.HasPrefix(r.Header.Get("Content-Range"), "bytes ") && !strings.HasPrefix(r.Header.Get("Content-Range"), "bytes 0-") {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					return err
				}
				b[100] ^= 1
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
			return nil
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := srv.Conn()
			conn.Endpoint = lyingStore(t, srv.Endpoint, tt.edit)
			client, err := s3conn.New(context.Background(), conn)
			if err != nil {
				t.Fatal(err)
			}
			m := mediaFile(t, dir, tt.mode+".mp4", 17<<20, uint64(i+40))
			u := New(client, Options{Bucket: bucket, PartSize: 5 << 20, Concurrency: 2, Checksum: checksum.CRC32C, SSE: SSES3, Verify: tt.mode})
			_, err = u.Upload(context.Background(), m, Object{Key: "rec/" + m.Name})
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("want ErrMismatch, got %v", err)
			}
		})
	}
}

// TestResumeModesMinIO: an interrupted upload in etag or readback mode is
// continued with the parts whose ETag is the MD5 of the local bytes, and a
// record of another mode is not mixed in.
func TestResumeModesMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	for _, mode := range []string{VerifyETag, VerifyReadback} {
		t.Run(mode, func(t *testing.T) {
			e := newResumeEnv(t, srv, "resume-"+mode)
			e.verify = mode
			entry := e.interrupted(t, checksum.CRC32C, 2)
			if entry.Verify != mode {
				t.Fatalf("record says mode %q", entry.Verify)
			}
			v, sent := e.resumed(t, checksum.CRC32C)
			if v.Verification() != mode || sent > 3 {
				t.Errorf("resumed in %q sending %d of 5 parts, want %s and at most 3", v.Verification(), sent, mode)
			}
		})
	}
	t.Run("mode changed between runs", func(t *testing.T) {
		e := newResumeEnv(t, srv, "resume-switch")
		e.verify = VerifyETag
		e.interrupted(t, checksum.CRC32C, 2)
		e.verify = VerifyChecksum
		v, sent := e.resumed(t, checksum.CRC32C)
		if v.Verification() != VerifyChecksum || sent != 5 {
			t.Errorf("after a mode change: %q, %d parts sent, want checksum and all 5", v.Verification(), sent)
		}
	})
}
