package finalize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

func TestFinalizeMinIO(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
		sse  string
		kms  string
		alg  checksum.Algorithm
	}{
		{"http sse-kms crc32c", false, upload.SSEKMS, miniotest.KMSKeyID, checksum.CRC32C},
		{"https sse-s3 crc64nvme", true, upload.SSES3, "", checksum.CRC64NVME},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := miniotest.Start(t, miniotest.Options{TLS: tc.tls})
			bucket := srv.Bucket(t, "recordings")
			e := newEnv(t, srv.Conn(), envOpts{bucket: bucket, partSize: 16 << 20, sse: tc.sse, kms: tc.kms, alg: tc.alg, deadline: 2 * time.Minute})
			dir := recDir(t)
			big := randomBytes(t, 105<<20+4321) // > 100 MB, 7 parts of 16 MiB
			writeFile(t, dir, media, big)
			writeFile(t, dir, "audio.opus", randomBytes(t, 300_000))
			writeFile(t, dir, "metadata.json", []byte(metaTok))
			want := map[string]string{media: tc.alg.Sum(big)}

			res, err := e.runner.Run(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("local recording not removed")
			}
			m := e.manifest(t, res.ManifestKey)
			if len(m.Files) != 2 {
				t.Fatalf("manifest files: %+v", m.Files)
			}
			for _, f := range m.Files {
				if f.VersionID == "" || f.ChecksumType != "FULL_OBJECT" || f.ChecksumAlgorithm != string(tc.alg) {
					t.Errorf("manifest entry %+v", f)
				}
				if w, ok := want[f.Name]; ok {
					if f.Checksum != w || f.Parts != 7 || f.Size != int64(len(big)) {
						t.Errorf("big file entry %+v, want checksum %s and 7 parts", f, w)
					}
					if string(e.get(t, f.Key)) != string(big) {
						t.Error("downloaded object differs from the original bytes")
					}
				}
				head, err := e.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(f.Key), VersionId: aws.String(f.VersionID), ChecksumMode: "ENABLED"})
				if err != nil {
					t.Fatal(err)
				}
				if string(head.ServerSideEncryption) != tc.sse {
					t.Errorf("%s: encryption %q, want %q", f.Key, head.ServerSideEncryption, tc.sse)
				}
			}
			if strings.Contains(string(e.get(t, res.ManifestKey)), "SECRET") {
				t.Error("secret in manifest")
			}
		})
	}
}

func TestBadCredentialsAndKMSMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "recordings")
	tests := []struct {
		name string
		mut  func(o *envOpts)
		hint string
	}{
		{name: "wrong credentials", hint: "credentials"},
		{name: "kms key missing", mut: func(o *envOpts) { o.sse, o.kms = upload.SSEKMS, "no-such-key" }, hint: "KMS key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := srv.Conn()
			if tt.name == "wrong credentials" {
				conn.Credentials = credentials.NewStaticCredentialsProvider(miniotest.AccessKey, "wrong-secret", "")
			}
			o := envOpts{bucket: bucket, attempts: 3}
			if tt.mut != nil {
				tt.mut(&o)
			}
			e := newEnv(t, conn, o)
			dir := recDir(t)
			writeFile(t, dir, media, randomBytes(t, 6<<20))
			writeFile(t, dir, "metadata.json", []byte(`{}`))
			before := snapshot(t, dir)
			start := time.Now()
			_, err := e.runner.Run(context.Background(), dir)
			if !errors.Is(err, ErrUpload) || !strings.Contains(err.Error(), tt.hint) {
				t.Fatalf("got %v", err)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("a permanent error was retried for %s", time.Since(start))
			}
			t.Logf("error shown: %v", err)
			assertIntact(t, dir, before)
			if st, _, _ := recdir.Read(dir); st.Outcome != recdir.OutcomePermanent || st.Hint == "" {
				t.Fatalf("state %+v", st)
			}
		})
	}
}

// TestGrowingDuringUploadMinIO appends to the media file while its parts are
// being uploaded: the upload may succeed on the server, but the local file no
// longer matches what was read, so nothing is deleted.
func TestGrowingDuringUploadMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "recordings")
	e := newEnv(t, srv.Conn(), envOpts{bucket: bucket, attempts: 1})
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 40<<20))
	writeFile(t, dir, "metadata.json", []byte(`{}`))
	p := filepath.Join(dir, media)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return
		}
		defer f.Close()
		time.Sleep(20 * time.Millisecond) // let the scan see the first size
		for !stop.Load() {
			f.Write(make([]byte, 4096))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	_, err := e.runner.Run(context.Background(), dir)
	stop.Store(true)
	<-done
	if !errors.Is(err, ErrUpload) || !errors.Is(err, upload.ErrChanged) && !strings.Contains(err.Error(), "changed") {
		t.Fatalf("got %v", err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() <= 40<<20 {
		t.Fatalf("growing file lost or truncated: %v", err)
	}
}
