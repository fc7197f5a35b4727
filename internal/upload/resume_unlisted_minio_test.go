package upload

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

// listedChecksums matches what a ListParts answer says of part checksums.
var listedChecksums = regexp.MustCompile(`<(?:ChecksumCRC32C|ChecksumCRC64NVME|ChecksumType)>[^<]*</(?:ChecksumCRC32C|ChecksumCRC64NVME|ChecksumType)>`)

// listedETags matches the ETag of every part in a ListParts answer.
var listedETags = regexp.MustCompile(`<ETag>[^<]*</ETag>`)

// bareParts is MinIO behind a proxy that answers ListParts the way
// SeaweedFS 4.53 does, without part checksums; with otherETags it also
// replaces every listed ETag by one that is not an MD5 of the part (what a
// store encrypting with SSE-KMS lists). stripped counts the answers
// edited.
func bareParts(t *testing.T, srv *miniotest.Server, otherETags bool) (*s3.Client, *atomic.Int32) {
	t.Helper()
	var stripped atomic.Int32
	conn := srv.Conn()
	conn.Endpoint = lyingStore(t, srv.Endpoint, func(r *http.Response) error {
		q := r.Request.URL.Query()
		if r.Request.Method != http.MethodGet || !q.Has("uploadId") || q.Has("partNumber") || r.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		b = listedChecksums.ReplaceAll(b, nil)
		if otherETags {
			b = listedETags.ReplaceAll(b, []byte(`<ETag>&#34;0123456789abcdef0123456789abcdef-1&#34;</ETag>`))
		}
		stripped.Add(1)
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	})
	c, err := s3conn.New(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	return c, &stripped
}

// forgetParts rewrites the record of e's file so that it holds only the
// first keep of its parts: the state a kill -9 leaves when the parts
// stored last were not yet written to the record (it is written in
// batches, in the background).
func forgetParts(t *testing.T, e *resumeEnv, keep int) recdir.File {
	t.Helper()
	rec, _, err := recdir.Read(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	f := rec.Files[e.m.Name]
	if f == nil || len(f.Parts) < keep {
		t.Fatalf("record before forgetting: %+v", f)
	}
	f.Parts = f.Parts[:keep]
	if err := recdir.Save(e.dir, rec); err != nil {
		t.Fatal(err)
	}
	return *f
}

// listedPart returns part n as ListParts lists it to c.
func listedPart(t *testing.T, c *s3.Client, e *resumeEnv, uploadID string, n int32) types.Part {
	t.Helper()
	out, err := c.ListParts(context.Background(), &s3.ListPartsInput{Bucket: &e.bucket, Key: &e.key, UploadId: aws.String(uploadID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range out.Parts {
		if aws.ToInt32(p.PartNumber) == n {
			return p
		}
	}
	t.Fatalf("part %d not listed", n)
	return types.Part{}
}

// TestResumeUnlistedChecksumsMinIO: on a store whose ListParts gives no part
// checksums, a stored part the record does not hold is proven by its ETag
// (the MD5 of the local bytes) instead of being sent again; a part whose
// ETag does not prove it is sent again, and the record then holds the
// proven part with its checksum.
func TestResumeUnlistedChecksumsMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	direct := srv.Client(t)
	tests := []struct {
		name       string
		stored     int // parts stored before the interruption
		recorded   int // of which the record holds the first ones
		otherETags bool
		junkPart   int32 // a stored part replaced by other bytes of its size
		wantSent   int
	}{
		{name: "the part stored last is not in the record", stored: 3, recorded: 2, wantSent: 2},
		{name: "no part is in the record", stored: 3, recorded: 0, wantSent: 2},
		{name: "every part is in the record", stored: 3, recorded: 3, wantSent: 2},
		{name: "an unrecorded part with other bytes is sent again", stored: 3, recorded: 1, junkPart: 2, wantSent: 3},
		{name: "ETags that are not MD5s prove nothing", stored: 3, recorded: 2, otherETags: true, wantSent: 5},
	}
	for _, alg := range []checksum.Algorithm{checksum.CRC32C, checksum.CRC64NVME} {
		for i, tt := range tests {
			t.Run(string(alg)+"/"+tt.name, func(t *testing.T) {
				client, stripped := bareParts(t, srv, tt.otherETags)
				e := newResumeEnv(t, srv, "bare-"+strings.ToLower(string(alg))+"-"+strconv.Itoa(i))
				e.client = client
				entry := e.interrupted(t, alg, tt.stored)
				if len(entry.Parts) != tt.stored {
					t.Fatalf("%d parts recorded after %d stored", len(entry.Parts), tt.stored)
				}
				forgetParts(t, e, tt.recorded)
				if tt.junkPart != 0 {
					junk := bytes.Repeat([]byte{0x5A}, 5<<20)
					if _, err := direct.UploadPart(context.Background(), &s3.UploadPartInput{
						Bucket: &e.bucket, Key: &e.key, UploadId: aws.String(entry.UploadID), PartNumber: aws.Int32(tt.junkPart),
						Body: bytes.NewReader(junk), ContentLength: aws.Int64(int64(len(junk))), ChecksumAlgorithm: types.ChecksumAlgorithm(alg),
					}); err != nil {
						t.Fatal(err)
					}
				}
				// The proxy is what makes this test: MinIO itself lists the
				// checksums, the proxied answer does not.
				if p := listedPart(t, direct, e, entry.UploadID, 1); pick(alg, p.ChecksumCRC32C, p.ChecksumCRC64NVME) == "" {
					t.Fatalf("MinIO lists no %s for part 1", alg)
				}
				if p := listedPart(t, client, e, entry.UploadID, 1); pick(alg, p.ChecksumCRC32C, p.ChecksumCRC64NVME) != "" {
					t.Fatalf("the proxy let a part checksum through")
				}
				before := stripped.Load()

				v, sent := e.resumed(t, alg)
				if stripped.Load() == before {
					t.Fatal("the resume did not list the parts through the proxy")
				}
				if v.Parts() != 5 || sent != tt.wantSent {
					t.Errorf("parts %d, sent %d on resume, want %d (stored %d, recorded %d)", v.Parts(), sent, tt.wantSent, tt.stored, tt.recorded)
				}
				if v.Verification() != VerifyChecksum || v.Reused() {
					t.Errorf("verified by %q, reused %v", v.Verification(), v.Reused())
				}
				if ids := e.openUploads(t); len(ids) != 0 {
					t.Errorf("unfinished uploads left: %v", ids)
				}
				// Every part kept or sent is in the record with the checksum
				// of the local bytes, so that a later resume needs no proof.
				b, err := os.ReadFile(e.m.Path)
				if err != nil {
					t.Fatal(err)
				}
				after, _, err := recdir.Read(e.dir)
				if err != nil {
					t.Fatal(err)
				}
				final := after.Files[e.m.Name]
				if final == nil || final.Status != recdir.FileCompleted {
					t.Fatalf("record after the resume: %+v", final)
				}
				for n := 1; n <= 5; n++ {
					off := int64(n-1) * (5 << 20)
					want := alg.Sum(b[off:min(off+5<<20, int64(len(b)))])
					found := false
					for _, p := range final.Parts {
						if int(p.Number) == n && p.Checksum == want {
							found = true
						}
					}
					if !found {
						t.Errorf("the record holds no part %d with checksum %s: %+v", n, want, final.Parts)
					}
				}
			})
		}
	}
}

// TestResumeUnlistedChecksumsFaststartMinIO: the proof reads the bytes the
// object is made of, the rearranged layout, not the file's own.
func TestResumeUnlistedChecksumsFaststartMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	client, _ := bareParts(t, srv, false)
	plain := mediatest.Make(t, mediatest.Spec{Variant: mediatest.Plain, Length: 30 * time.Second})
	big := mediatest.Loop(t, plain, t.TempDir(), 8) // about 12 MiB: three parts of 5 MiB
	e := &resumeEnv{client: client, bucket: srv.Bucket(t, "faststart-bare"), dir: t.TempDir(), key: "rec/faststart-bare.mp4"}
	e.m = jibriFile(t, big, e.dir)
	jr, err := recdir.Open(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := New(e.client, Options{Bucket: e.bucket, PartSize: 5 << 20, Concurrency: 1, Checksum: checksum.CRC32C, SSE: SSES3, Faststart: true,
		Failpoint: func(name string) {
			if name == "part-uploaded:2" {
				cancel()
			}
		}})
	if _, err := u.Upload(ctx, e.m, Object{Key: e.key, Progress: jr}); err == nil {
		t.Fatal("interrupted upload reported success")
	}
	if err := jr.Flush(); err != nil {
		t.Fatal(err)
	}
	entry := forgetParts(t, e, 1)
	if entry.Rearranged == "" {
		t.Fatalf("record after the interruption: %+v", entry)
	}

	jr, err = recdir.Open(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.faststartUploader(true, nil).Upload(context.Background(), e.m, Object{Key: e.key, Progress: jr})
	if err != nil {
		t.Fatal(err)
	}
	if v.Parts() < 3 || v.SentParts() != v.Parts()-2 {
		t.Errorf("sent %d of %d parts; 2 were stored, 1 recorded", v.SentParts(), v.Parts())
	}
	checkFaststartObject(t, e, v, false)
}
