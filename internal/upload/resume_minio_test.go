package upload

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// resumeEnv is one MinIO bucket, one 23 MiB file (5 parts of 5 MiB) and a
// journal in the file's directory.
type resumeEnv struct {
	client *s3.Client
	bucket string
	dir    string
	m      recording.Media
	key    string
	verify string // the verification mode (checksum when empty)
}

func newResumeEnv(t *testing.T, srv *miniotest.Server, name string) *resumeEnv {
	t.Helper()
	dir := t.TempDir()
	return &resumeEnv{
		client: srv.Client(t), bucket: srv.Bucket(t, strings.ToLower(name)), dir: dir,
		m: mediaFile(t, dir, "room_2026-11-24-10-00-00.mp4", 23<<20, uint64(len(name))), key: "rec/" + name + ".mp4",
	}
}

func (e *resumeEnv) uploader(alg checksum.Algorithm, failpoint func(string)) *Uploader {
	return New(e.client, Options{Bucket: e.bucket, PartSize: 5 << 20, Concurrency: 1, Checksum: alg, SSE: SSES3, Failpoint: failpoint, Verify: e.verify})
}

// interrupted uploads until after part n has been stored, then cancels the
// run as a crash would, and returns the journal as the next run sees it.
func (e *resumeEnv) interrupted(t *testing.T, alg checksum.Algorithm, n int) recdir.File {
	t.Helper()
	jr, err := recdir.Open(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u := e.uploader(alg, func(name string) {
		if name == fmt.Sprintf("part-uploaded:%d", n) {
			cancel()
		}
	})
	if _, err := u.Upload(ctx, e.m, Object{Key: e.key, Progress: jr}); err == nil {
		t.Fatal("interrupted upload reported success")
	}
	if err := jr.Flush(); err != nil {
		t.Fatal(err)
	}
	reread, _, err := recdir.Read(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	entry := reread.Files[e.m.Name]
	if entry == nil || entry.UploadID == "" || len(entry.Parts) < n {
		t.Fatalf("journal after the interruption: %+v", entry)
	}
	return *entry
}

// resumed runs Upload again with a journal reopened from disk, checks the
// stored bytes, and returns how many parts this run sent.
func (e *resumeEnv) resumed(t *testing.T, alg checksum.Algorithm) (Verified, int) {
	t.Helper()
	jr, err := recdir.Open(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	u := e.uploader(alg, nil)
	v, err := u.Upload(context.Background(), e.m, Object{Key: e.key, Progress: jr})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(e.m.Path)
	if got := download(t, e.client, e.bucket, v.Key(), v.VersionID()); !bytes.Equal(got, want) {
		t.Fatal("resumed object differs from the local file")
	}
	return v, v.SentParts()
}

func (e *resumeEnv) openUploads(t *testing.T) []string {
	t.Helper()
	out, err := e.client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &e.bucket})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range out.Uploads {
		ids = append(ids, aws.ToString(u.UploadId))
	}
	return ids
}

func TestResumeMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	for _, alg := range []checksum.Algorithm{checksum.CRC32C, checksum.CRC64NVME} {
		t.Run(string(alg), func(t *testing.T) {
			t.Run("continues after 3 of 5 parts", func(t *testing.T) {
				e := newResumeEnv(t, srv, "cont-"+string(alg))
				entry := e.interrupted(t, alg, 3)
				v, sent := e.resumed(t, alg)
				if v.Parts() != 5 || sent != 5-len(entry.Parts) || sent > 2 {
					t.Errorf("parts %d, sent on resume %d, journaled before %d", v.Parts(), sent, len(entry.Parts))
				}
				if ids := e.openUploads(t); len(ids) != 0 {
					t.Errorf("unfinished uploads left: %v", ids)
				}
			})
			t.Run("resumes with its own part size after the part size changed", func(t *testing.T) {
				e := newResumeEnv(t, srv, "psize-"+string(alg))
				entry := e.interrupted(t, alg, 3)
				jr, err := recdir.Open(e.dir)
				if err != nil {
					t.Fatal(err)
				}
				// The operator changed --part-size since: the upload that
				// began with 5 MiB parts still continues with them.
				u := New(e.client, Options{Bucket: e.bucket, PartSize: 8 << 20, Concurrency: 1, Checksum: alg, SSE: SSES3})
				v, err := u.Upload(context.Background(), e.m, Object{Key: e.key, Progress: jr})
				if err != nil {
					t.Fatal(err)
				}
				if v.Parts() != 5 || v.SentParts() != 5-len(entry.Parts) {
					t.Errorf("parts %d, sent %d after %d stored: the upload started over", v.Parts(), v.SentParts(), len(entry.Parts))
				}
			})
			t.Run("an upload completed by a run killed before recording it", func(t *testing.T) {
				e := newResumeEnv(t, srv, "done-unrecorded-"+string(alg))
				entry := e.interrupted(t, alg, 5) // every part stored
				// The killed run had sent CompleteMultipartUpload and died
				// before the record said so.
				listed, err := e.client.ListParts(context.Background(), &s3.ListPartsInput{Bucket: &e.bucket, Key: &e.key, UploadId: aws.String(entry.UploadID)})
				if err != nil {
					t.Fatal(err)
				}
				var parts []types.CompletedPart
				for _, p := range listed.Parts {
					cp := types.CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag}
					set(alg, &cp.ChecksumCRC32C, &cp.ChecksumCRC64NVME, pick(alg, p.ChecksumCRC32C, p.ChecksumCRC64NVME))
					parts = append(parts, cp)
				}
				b, _ := os.ReadFile(e.m.Path)
				in := &s3.CompleteMultipartUploadInput{Bucket: &e.bucket, Key: &e.key, UploadId: aws.String(entry.UploadID),
					MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, ChecksumType: types.ChecksumTypeFullObject}
				set(alg, &in.ChecksumCRC32C, &in.ChecksumCRC64NVME, alg.Sum(b))
				if _, err := e.client.CompleteMultipartUpload(context.Background(), in); err != nil {
					t.Fatal(err)
				}
				v, sent := e.resumed(t, alg)
				if sent != 0 || !v.Reused() {
					t.Errorf("sent %d parts, reused %v: the stored object was not recognised", sent, v.Reused())
				}
			})
			t.Run("an upload S3 refuses to assemble starts over", func(t *testing.T) {
				e := newResumeEnv(t, srv, "refused-"+string(alg))
				entry := e.interrupted(t, alg, 3)
				// Part 2 replaced by other bytes whose checksum the listing
				// reports as the local one cannot be made on a real server;
				// a part stored under another checksum type can: drop the
				// full-object upload and record a composite one in its place.
				cm, err := e.client.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: &e.bucket, Key: &e.key,
					ChecksumAlgorithm: types.ChecksumAlgorithm(alg), ChecksumType: types.ChecksumTypeComposite, ServerSideEncryption: types.ServerSideEncryptionAes256})
				if err != nil {
					t.Skipf("the server does not take a composite %s upload: %v", alg, err)
				}
				b, _ := os.ReadFile(e.m.Path)
				jr, _ := recdir.Open(e.dir)
				jr.Begin(e.m.Name, recdir.File{Key: e.key, UploadID: aws.ToString(cm.UploadId), PartSize: entry.PartSize, Algorithm: entry.Algorithm,
					Size: entry.Size, ModTimeNs: entry.ModTimeNs, Dev: entry.Dev, Ino: entry.Ino})
				for n := int32(1); n <= 5; n++ {
					off := int64(n-1) * (5 << 20)
					part := b[off:min(off+5<<20, int64(len(b)))]
					if _, err := e.client.UploadPart(context.Background(), &s3.UploadPartInput{Bucket: &e.bucket, Key: &e.key, UploadId: cm.UploadId,
						PartNumber: aws.Int32(n), Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part))), ChecksumAlgorithm: types.ChecksumAlgorithm(alg)}); err != nil {
						t.Fatal(err)
					}
				}
				if err := jr.Flush(); err != nil {
					t.Fatal(err)
				}
				// resumed fails unless the upload ends with the local bytes stored.
				v, sent := e.resumed(t, alg)
				t.Logf("parts %d, sent %d, reused %v", v.Parts(), sent, v.Reused())
			})
			t.Run("a stored part with other bytes is sent again", func(t *testing.T) {
				e := newResumeEnv(t, srv, "bad-part-"+string(alg))
				entry := e.interrupted(t, alg, 3)
				// Overwrite part 2 on the server with different bytes of the
				// same size: its size matches, its checksum does not.
				junk := bytes.Repeat([]byte{0xA5}, 5<<20)
				if _, err := e.client.UploadPart(context.Background(), &s3.UploadPartInput{
					Bucket: &e.bucket, Key: &e.key, UploadId: aws.String(entry.UploadID), PartNumber: aws.Int32(2),
					Body: bytes.NewReader(junk), ContentLength: aws.Int64(int64(len(junk))), ChecksumAlgorithm: types.ChecksumAlgorithm(alg),
				}); err != nil {
					t.Fatal(err)
				}
				_, sent := e.resumed(t, alg)
				if want := 5 - len(entry.Parts) + 1; sent != want {
					t.Errorf("sent %d parts on resume, want %d (the remaining ones plus the bad part 2)", sent, want)
				}
			})
			t.Run("a file changed since the journal starts over and aborts the old upload", func(t *testing.T) {
				e := newResumeEnv(t, srv, "changed-"+string(alg))
				entry := e.interrupted(t, alg, 2)
				f, _ := os.OpenFile(e.m.Path, os.O_WRONLY, 0)
				f.WriteAt([]byte("rewritten"), 100)
				f.Close()
				later := time.Now().Add(time.Second)
				os.Chtimes(e.m.Path, later, later)
				e.m = statMedia(t, e.m.Path)
				_, sent := e.resumed(t, alg)
				if sent != 5 {
					t.Errorf("sent %d parts, want all 5 for a changed file", sent)
				}
				for _, id := range e.openUploads(t) {
					if id == entry.UploadID {
						t.Error("the old upload was not aborted")
					}
				}
			})
			t.Run("an upload aborted elsewhere starts over", func(t *testing.T) {
				e := newResumeEnv(t, srv, "gone-"+string(alg))
				entry := e.interrupted(t, alg, 2)
				if _, err := e.client.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{
					Bucket: &e.bucket, Key: &e.key, UploadId: aws.String(entry.UploadID)}); err != nil {
					t.Fatal(err)
				}
				if _, sent := e.resumed(t, alg); sent != 5 {
					t.Errorf("sent %d parts, want 5 after the upload was aborted", sent)
				}
			})
			t.Run("uploads the journal does not reference are aborted", func(t *testing.T) {
				e := newResumeEnv(t, srv, "stale-"+string(alg))
				for i := 0; i < 2; i++ {
					if _, err := e.client.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{
						Bucket: &e.bucket, Key: &e.key, ChecksumAlgorithm: types.ChecksumAlgorithm(alg), ChecksumType: types.ChecksumTypeFullObject}); err != nil {
						t.Fatal(err)
					}
				}
				e.interrupted(t, alg, 2)
				e.resumed(t, alg)
				if ids := e.openUploads(t); len(ids) != 0 {
					t.Errorf("unreferenced uploads left: %v", ids)
				}
			})
		})
	}
}
