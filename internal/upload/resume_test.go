package upload

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

// storedPart is a part the fake store holds.
type storedPart struct {
	data []byte
	etag string
}

// partStore is an in-memory store of one multipart upload that checks
// what S3 checks on CompleteMultipartUpload (each part's ETag and checksum,
// and the full-object checksum) and lists parts the way a case says. The
// API methods it does not implement panic: a resume must not call them.
type partStore struct {
	API
	alg      checksum.Algorithm
	uploadID string

	listChecksums bool             // ListParts gives part checksums (MinIO, AWS)
	listETag      map[int32]string // ETags listed instead of the stored ones
	listSize      map[int32]int64  // sizes listed instead of the stored ones
	listCRC       map[int32]string // checksums listed instead of the stored ones

	mu      sync.Mutex
	parts   map[int32]storedPart
	sent    []int32
	object  []byte
	crc     string
	refused string // why CompleteMultipartUpload refused the parts
}

var _ API = (*partStore)(nil)

func (s *partStore) ListParts(_ context.Context, in *s3.ListPartsInput, _ ...func(*s3.Options)) (*s3.ListPartsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if aws.ToString(in.UploadId) != s.uploadID {
		return nil, &smithy.GenericAPIError{Code: "NoSuchUpload"}
	}
	out := &s3.ListPartsOutput{}
	for n, p := range s.parts {
		lp := types.Part{PartNumber: aws.Int32(n), Size: aws.Int64(int64(len(p.data))), ETag: aws.String(p.etag)}
		if e, ok := s.listETag[n]; ok {
			lp.ETag = aws.String(e)
		}
		if sz, ok := s.listSize[n]; ok {
			lp.Size = aws.Int64(sz)
		}
		if s.listChecksums {
			sum := s.alg.Sum(p.data)
			if c, ok := s.listCRC[n]; ok {
				sum = c
			}
			set(s.alg, &lp.ChecksumCRC32C, &lp.ChecksumCRC64NVME, sum)
		}
		out.Parts = append(out.Parts, lp)
	}
	slices.SortFunc(out.Parts, func(a, b types.Part) int { return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber)) })
	return out, nil
}

func (s *partStore) ListMultipartUploads(context.Context, *s3.ListMultipartUploadsInput, ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	return &s3.ListMultipartUploadsOutput{}, nil
}

func (s *partStore) AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	return &s3.AbortMultipartUploadOutput{}, nil
}

// put stores data as part n, as UploadPart does.
func (s *partStore) put(n int32, data []byte) storedPart {
	sum := md5.Sum(data)
	p := storedPart{data: data, etag: `"` + hex.EncodeToString(sum[:]) + `"`}
	s.mu.Lock()
	s.parts[n] = p
	s.mu.Unlock()
	return p
}

func (s *partStore) UploadPart(ctx context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	b, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != aws.ToInt64(in.ContentLength) {
		return nil, fmt.Errorf("part %d: %d bytes, content length %d", aws.ToInt32(in.PartNumber), len(b), aws.ToInt64(in.ContentLength))
	}
	n := aws.ToInt32(in.PartNumber)
	p := s.put(n, b)
	s.mu.Lock()
	s.sent = append(s.sent, n)
	s.mu.Unlock()
	out := &s3.UploadPartOutput{ETag: aws.String(p.etag)}
	set(s.alg, &out.ChecksumCRC32C, &out.ChecksumCRC64NVME, s.alg.Sum(b))
	return out, nil
}

func (s *partStore) CompleteMultipartUpload(_ context.Context, in *s3.CompleteMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var obj []byte
	for _, cp := range in.MultipartUpload.Parts {
		p, ok := s.parts[aws.ToInt32(cp.PartNumber)]
		if !ok || !sameETag(aws.ToString(cp.ETag), p.etag) {
			s.refused = fmt.Sprintf("part %d: ETag %s", aws.ToInt32(cp.PartNumber), aws.ToString(cp.ETag))
			return nil, &smithy.GenericAPIError{Code: "InvalidPart", Message: s.refused}
		}
		if got := pick(s.alg, cp.ChecksumCRC32C, cp.ChecksumCRC64NVME); got != s.alg.Sum(p.data) {
			s.refused = fmt.Sprintf("part %d: checksum %s", aws.ToInt32(cp.PartNumber), got)
			return nil, &smithy.GenericAPIError{Code: "InvalidPart", Message: s.refused}
		}
		obj = append(obj, p.data...)
	}
	if got := pick(s.alg, in.ChecksumCRC32C, in.ChecksumCRC64NVME); got != s.alg.Sum(obj) {
		s.refused = "full-object checksum " + got
		return nil, &smithy.GenericAPIError{Code: "BadDigest", Message: s.refused}
	}
	s.object, s.crc = obj, s.alg.Sum(obj)
	return &s3.CompleteMultipartUploadOutput{VersionId: aws.String("v1")}, nil
}

// sameETag compares ETags as S3 does: with or without quotes, in any case.
func sameETag(a, b string) bool {
	return strings.EqualFold(strings.Trim(a, `"`), strings.Trim(b, `"`))
}

// CreateMultipartUpload fails: a resume that starts over is a failure here.
func (s *partStore) CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	return nil, errors.New("fake store: the resume started a new upload")
}

func (s *partStore) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &s3.HeadObjectOutput{ContentLength: aws.Int64(int64(len(s.object))), ChecksumType: types.ChecksumTypeFullObject, VersionId: aws.String("v1")}
	set(s.alg, &out.ChecksumCRC32C, &out.ChecksumCRC64NVME, s.crc)
	return out, nil
}

// fakeProgress is a record in memory: what an earlier run recorded, and
// the parts this run records.
type fakeProgress struct {
	earlier  recdir.File
	mu       sync.Mutex
	recorded []recdir.Part
}

func (p *fakeProgress) Earlier(string) (recdir.File, bool) { return p.earlier, true }
func (p *fakeProgress) Begin(string, recdir.File)          {}
func (p *fakeProgress) Part(_, uploadID string, part recdir.Part) {
	if uploadID != p.earlier.UploadID {
		return
	}
	p.mu.Lock()
	p.recorded = append(p.recorded, part)
	p.mu.Unlock()
}
func (p *fakeProgress) Complete(string, string, string, string, recdir.File) error { return nil }

// TestResumeProvesUnlistedParts drives a resume of a file of three parts
// (two stored) against stores that list parts in different ways, and
// checks which parts are sent again and which the record is given.
func TestResumeProvesUnlistedParts(t *testing.T) {
	const ps = 5 << 20
	dir := t.TempDir()
	m := mediaFile(t, dir, "room_2026-12-02-10-00-00.mp4", 2*ps+1234, 7)
	local, err := os.ReadFile(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	part := func(n int32) []byte { return local[int64(n-1)*ps : min(int64(n)*ps, int64(len(local)))] }
	md5hex := func(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

	tests := []struct {
		name          string
		listChecksums bool
		recorded      []int32 // parts the earlier run recorded, with their real checksum
		recordedWrong []int32 // parts recorded with the ETag listed but another checksum
		junk          []int32 // stored parts holding other bytes of the same size
		listETag      map[int32]string
		listSize      map[int32]int64
		listCRC       map[int32]string
		wantSent      []int32
		wantRecorded  []int32 // parts proven by their ETag, given to the record
	}{
		{name: "checksums listed", listChecksums: true, wantSent: []int32{3}},
		{name: "checksums listed, one wrong, its ETag right", listChecksums: true, listCRC: map[int32]string{1: "AAAAAA=="}, wantSent: []int32{1, 3}},
		{name: "no checksums, nothing recorded", wantSent: []int32{3}, wantRecorded: []int32{1, 2}},
		{name: "no checksums, the first part recorded", recorded: []int32{1}, wantSent: []int32{3}, wantRecorded: []int32{2}},
		{name: "no checksums, both recorded", recorded: []int32{1, 2}, wantSent: []int32{3}},
		{name: "no checksums, a recorded checksum that is not the local one", recordedWrong: []int32{1}, wantSent: []int32{1, 3}, wantRecorded: []int32{2}},
		{name: "no checksums, a part holds other bytes", junk: []int32{2}, wantSent: []int32{2, 3}, wantRecorded: []int32{1}},
		{name: "no checksums, ETags unquoted and in capitals", listETag: map[int32]string{1: strings.ToUpper(md5hex(part(1))), 2: md5hex(part(2))}, wantSent: []int32{3}, wantRecorded: []int32{1, 2}},
		{name: "no checksums, ETags that are not MD5s", listETag: map[int32]string{1: `"` + md5hex(part(1)) + `-1"`, 2: `"0123456789abcdef0123456789abcdef"`}, wantSent: []int32{1, 2, 3}},
		{name: "no checksums, a listed size that is not the part's", listSize: map[int32]int64{2: ps - 1}, wantSent: []int32{2, 3}, wantRecorded: []int32{1}},
	}
	for _, alg := range []checksum.Algorithm{checksum.CRC32C, checksum.CRC64NVME} {
		for _, tt := range tests {
			t.Run(string(alg)+"/"+tt.name, func(t *testing.T) {
				st := &partStore{alg: alg, uploadID: "up-1", parts: map[int32]storedPart{},
					listChecksums: tt.listChecksums, listETag: tt.listETag, listSize: tt.listSize, listCRC: tt.listCRC}
				earlier := recdir.File{Key: "rec/a.mp4", Status: recdir.FileUploading, UploadID: "up-1", PartSize: ps, Algorithm: string(alg),
					Size: m.Size, ModTimeNs: m.ModTime.UnixNano(), Dev: m.Dev, Ino: m.Ino}
				for _, n := range []int32{1, 2} {
					b := part(n)
					if slices.Contains(tt.junk, n) {
						b = bytes.Repeat([]byte{0xA5}, len(b))
					}
					p := st.put(n, b)
					switch {
					case slices.Contains(tt.recorded, n):
						earlier.Parts = append(earlier.Parts, recdir.Part{Number: n, Size: int64(len(b)), ETag: p.etag, Checksum: alg.Sum(b)})
					case slices.Contains(tt.recordedWrong, n):
						earlier.Parts = append(earlier.Parts, recdir.Part{Number: n, Size: int64(len(b)), ETag: p.etag, Checksum: alg.Sum([]byte("other"))})
					}
				}
				pr := &fakeProgress{earlier: earlier}
				u := New(st, Options{Bucket: "b", PartSize: ps, Concurrency: 2, Checksum: alg})
				v, err := u.Upload(context.Background(), m, Object{Key: "rec/a.mp4", Progress: pr})
				if err != nil {
					t.Fatalf("%v (refused: %q)", err, st.refused)
				}
				slices.Sort(st.sent)
				if !slices.Equal(st.sent, tt.wantSent) || v.SentParts() != len(tt.wantSent) {
					t.Errorf("sent %v (SentParts %d), want %v", st.sent, v.SentParts(), tt.wantSent)
				}
				if !bytes.Equal(st.object, local) {
					t.Error("the object is not the local bytes")
				}
				// The record gets every part proven by its ETag (with the
				// local checksum and the listed ETag) and every part sent.
				var proven []int32
				for _, p := range pr.recorded {
					if slices.Contains(st.sent, p.Number) {
						continue
					}
					proven = append(proven, p.Number)
					if p.Checksum != alg.Sum(part(p.Number)) || p.Size != int64(len(part(p.Number))) || p.ETag == "" {
						t.Errorf("recorded %+v, want the local checksum %s", p, alg.Sum(part(p.Number)))
					}
				}
				slices.Sort(proven)
				if !slices.Equal(proven, tt.wantRecorded) {
					t.Errorf("recorded as proven %v, want %v", proven, tt.wantRecorded)
				}
			})
		}
	}
}

// TestResumeStopsWhenCancelled: a cancelled run reads no further part and
// fails with the context's error, not as a local file error.
func TestResumeStopsWhenCancelled(t *testing.T) {
	const ps = 5 << 20
	dir := t.TempDir()
	m := mediaFile(t, dir, "room_2026-12-02-11-00-00.mp4", 2*ps+10, 9)
	st := &partStore{alg: checksum.CRC32C, uploadID: "up-1", parts: map[int32]storedPart{}}
	pr := &fakeProgress{earlier: recdir.File{Key: "rec/b.mp4", Status: recdir.FileUploading, UploadID: "up-1", PartSize: ps, Algorithm: string(checksum.CRC32C),
		Size: m.Size, ModTimeNs: m.ModTime.UnixNano(), Dev: m.Dev, Ino: m.Ino}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	u := New(st, Options{Bucket: "b", PartSize: ps, Checksum: checksum.CRC32C})
	_, err := u.Upload(ctx, m, Object{Key: "rec/b.mp4", Progress: pr})
	var le *localError
	if !errors.Is(err, context.Canceled) || errors.As(err, &le) {
		t.Fatalf("err %v, want context.Canceled, not a local file error", err)
	}
	if len(st.sent) != 0 {
		t.Errorf("sent %v after the cancellation", st.sent)
	}
}

// TestPartSums: one read gives the part's checksum and MD5, feeds the
// tracker's full-object checksum, and stops on a cancelled context.
func TestPartSums(t *testing.T) {
	data := bytes.Repeat([]byte("jibri-s3 part "), 100_000)
	ps := int64(len(data)/3 + 1)
	for _, alg := range []checksum.Algorithm{checksum.CRC32C, checksum.CRC64NVME} {
		u := New(nil, Options{Checksum: alg})
		tr := checksum.NewTracker(alg, bytes.NewReader(data), int64(len(data)), ps)
		for off := int64(0); off < int64(len(data)); off += ps {
			size := min(ps, int64(len(data))-off)
			crc, sum, err := u.partSums(context.Background(), tr, off, size, true)
			if err != nil {
				t.Fatal(err)
			}
			b := data[off : off+size]
			if crc != alg.Sum(b) || sum != md5.Sum(b) {
				t.Errorf("%s at %d: %s %x, want %s %x", alg, off, crc, sum, alg.Sum(b), md5.Sum(b))
			}
			if !etagIsMD5(`"`+hex.EncodeToString(sum[:])+`"`, md5.Sum(b)) {
				t.Error("a quoted MD5 ETag does not match")
			}
		}
		if got, err := tr.Encoded(); err != nil || got != alg.Sum(data) {
			t.Errorf("%s: full-object %s, %v; want %s", alg, got, err, alg.Sum(data))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := u.partSums(ctx, checksum.NewTracker(alg, bytes.NewReader(data), int64(len(data)), ps), 0, ps, true)
		var le *localError
		if !errors.Is(err, context.Canceled) || errors.As(err, &le) {
			t.Errorf("%s: cancelled read: %v, want context.Canceled, not a local file error", alg, err)
		}
	}
}
