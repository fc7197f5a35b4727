package upload

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"mime"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// mediaFile writes size pseudo-random bytes and returns it as scanned media.
func mediaFile(t testing.TB, dir, name string, size int64, seed uint64) recording.Media {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, seed+1))
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		for i := 0; i < len(buf); i += 8 {
			v := rng.Uint64()
			for j := 0; j < 8; j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		n := min(left, int64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
		left -= n
	}
	f.Close()
	return statMedia(t, p)
}

func statMedia(t testing.TB, p string) recording.Media {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return recording.Media{Name: filepath.Base(p), Path: p, Size: fi.Size(), ModTime: fi.ModTime(), Dev: uint64(st.Dev), Ino: st.Ino}
}

func download(t *testing.T, c *s3.Client, bucket, key, version string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key, VersionId: aws.String(version)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUploadMinIO(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		name := "http"
		if tlsOn {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			srv := miniotest.Start(t, miniotest.Options{TLS: tlsOn})
			bucket := srv.Bucket(t, "recordings")
			client := srv.Client(t)
			dir := t.TempDir()
			cases := []struct {
				name string
				size int64
				alg  checksum.Algorithm
				sse  string
				kms  string
			}{
				{"single part crc32c sse-s3", 3 << 20, checksum.CRC32C, SSES3, ""},
				{"multipart crc32c sse-kms", 17<<20 + 12345, checksum.CRC32C, SSEKMS, miniotest.KMSKeyID},
				{"multipart crc64nvme sse-s3", 11<<20 + 1, checksum.CRC64NVME, SSES3, ""},
			}
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					m := mediaFile(t, dir, c.name+".mp4", c.size, uint64(i))
					u := New(client, Options{Bucket: bucket, PartSize: 5 << 20, Concurrency: 3, Checksum: c.alg, SSE: c.sse, KMSKeyID: c.kms, Tags: map[string]string{"app": "jibri"}})
					v, err := u.Upload(context.Background(), m, Object{Key: "rec/" + m.Name, ContentType: ContentType(m.Name), Metadata: FitMetadata(map[string]string{"room": "café"})})
					if err != nil {
						t.Fatal(err)
					}
					if v.VersionID() == "" || v.Checksum() == "" || v.ETag() == "" {
						t.Errorf("verified result incomplete: %+v", v)
					}
					want, _ := os.ReadFile(m.Path)
					if got := download(t, client, bucket, v.Key(), v.VersionID()); !bytes.Equal(got, want) {
						t.Fatal("downloaded object differs from the local file")
					}
					if c.size > 5<<20 && v.Parts() < 2 {
						t.Errorf("expected a multipart upload, got %d parts", v.Parts())
					}
					head, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String(v.Key())})
					if err != nil {
						t.Fatal(err)
					}
					if string(head.ServerSideEncryption) != c.sse {
						t.Errorf("sse = %q, want %q", head.ServerSideEncryption, c.sse)
					}
					if room, err := new(mime.WordDecoder).DecodeHeader(head.Metadata["room"]); err != nil || room != "café" {
						t.Errorf("metadata %v: room %q, %v", head.Metadata, room, err)
					}
				})
			}
		})
	}
}

func TestUploadPermanentErrorsMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "recordings")
	client := srv.Client(t)
	m := mediaFile(t, t.TempDir(), "r.mp4", 6<<20, 9)

	u := New(client, Options{Bucket: "no-such-bucket", PartSize: 5 << 20, Concurrency: 2})
	_, err := u.Upload(context.Background(), m, Object{Key: "x"})
	if !IsPermanent(err) || Hint(err) == "" {
		t.Errorf("missing bucket: permanent=%v hint=%q err=%v", IsPermanent(err), Hint(err), err)
	}
	u = New(client, Options{Bucket: bucket, PartSize: 5 << 20, Concurrency: 2, SSE: SSEKMS, KMSKeyID: "no-such-key"})
	_, err = u.Upload(context.Background(), m, Object{Key: "x"})
	if !IsPermanent(err) {
		t.Errorf("missing kms key: permanent=%v err=%v", IsPermanent(err), err)
	}
	t.Logf("kms error: %v", err)
	if errors.Is(err, ErrMismatch) {
		t.Error("kms error reported as mismatch")
	}
}

// TestServerRejectsWrongFullObjectChecksum proves that the value given to
// CompleteMultipartUpload is checked by the server: completing an upload of
// file B with the CRC of file A must fail.
func TestServerRejectsWrongFullObjectChecksum(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{TLS: true})
	bucket := srv.Bucket(t, "recordings")
	client := srv.Client(t)
	dir := t.TempDir()
	a := mediaFile(t, dir, "a.mp4", 11<<20, 1)
	b := mediaFile(t, dir, "b.mp4", 11<<20, 2)
	fa, _ := os.Open(a.Path)
	defer fa.Close()
	fb, _ := os.Open(b.Path)
	defer fb.Close()
	ta := checksum.NewTracker(checksum.CRC32C, fa, a.Size, 5<<20)
	for off := int64(0); off < a.Size; off += 5 << 20 {
		io.Copy(io.Discard, io.NewSectionReader(ta, off, min(5<<20, a.Size-off)))
	}
	u := New(client, Options{Bucket: bucket, PartSize: 5 << 20, Concurrency: 2})
	_, err := u.mgr.Upload(context.Background(), &s3.PutObjectInput{
		Bucket: &bucket, Key: aws.String("b.mp4"), Body: checksum.NewTracker(checksum.CRC32C, fb, b.Size, 5<<20), ChecksumAlgorithm: "CRC32C",
	}, func(mu *manager.Uploader) {
		mu.ClientOptions = append(mu.ClientOptions, func(o *s3.Options) {
			o.APIOptions = append(o.APIOptions, fullObjectChecksum(ta, checksum.CRC32C))
		})
	})
	if err == nil {
		t.Fatal("server accepted a wrong full-object checksum")
	}
	t.Logf("rejected as expected: %v", err)
}
