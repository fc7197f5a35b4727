package upload

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// refusedAssembly are CompleteMultipartUpload errors after which the
// recorded upload is worthless: start over instead of retrying it.
var refusedAssembly = map[string]bool{
	"XAmzContentChecksumMismatch": true, "BadDigest": true, "InvalidPart": true, "InvalidPartOrder": true, "NoSuchUpload": true,
	"InvalidRequest": true,
}

// errUploadGone: the recorded multipart upload no longer exists, or S3 refused
// to assemble it.
var errUploadGone = errors.New("upload: multipart upload no longer exists")

// identity is what the record keeps of a file whose upload begins now.
func identity(m recording.Media, lf *localFile, partSize int64, alg checksum.Algorithm, mode string) recdir.File {
	f := recdir.File{PartSize: partSize, Algorithm: string(alg), Size: m.Size, ModTimeNs: m.ModTime.UnixNano(),
		Dev: m.Dev, Ino: m.Ino, Started: time.Now().UTC()}
	if lf.layout != "" {
		f.Rearranged, f.ObjectSize = lf.layout, lf.size
	}
	if mode != VerifyChecksum {
		f.Verify = mode
	}
	return f
}

// recordedMode is the verification mode an earlier run used for e (records
// from before the modes existed used checksums).
func recordedMode(e recdir.File) string {
	if e.Verify == "" {
		return VerifyChecksum
	}
	return e.Verify
}

// partRecorder journals what manager.Uploader does: the upload id when the
// multipart upload is created and each part as it completes. It is also
// where the fault-injection points around parts and completion sit.
type partRecorder struct {
	u        *Uploader
	f        *localFile
	m        recording.Media
	obj      Object
	partSize int64
	mode     string
	parts    atomic.Int32
}

func (r *partRecorder) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("JournalParts",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if _, ok := in.Parameters.(*s3.CompleteMultipartUploadInput); ok {
				r.u.failpoint("before-complete")
				// A file that changed while its parts were read must not
				// become an object version: stop before completing. The
				// parts stay for the journal; the next run sees the change,
				// aborts this upload and starts over.
				if err := sameFile(r.f, r.m); err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, err
				}
			}
			out, md, err := next.HandleInitialize(ctx, in)
			if err != nil {
				return out, md, err
			}
			switch res := out.Result.(type) {
			case *s3.CreateMultipartUploadOutput:
				if r.obj.Progress != nil {
					// A new upload: the identity recorded is this file's,
					// whatever an earlier upload of the key recorded.
					f := identity(r.m, r.f, r.partSize, r.u.opts.Checksum, r.mode)
					f.Key, f.UploadID = r.obj.Key, aws.ToString(res.UploadId)
					r.obj.Progress.Begin(r.m.Name, f)
				}
			case *s3.UploadPartOutput:
				p := in.Parameters.(*s3.UploadPartInput)
				if r.obj.Progress != nil {
					r.obj.Progress.Part(r.m.Name, aws.ToString(p.UploadId), recdir.Part{Number: aws.ToInt32(p.PartNumber), Size: aws.ToInt64(p.ContentLength),
						ETag: aws.ToString(res.ETag), Checksum: pick(r.u.opts.Checksum, res.ChecksumCRC32C, res.ChecksumCRC64NVME)})
				}
				r.obj.gate.done(int(aws.ToInt32(p.PartNumber)))
				r.u.failpoint(fmt.Sprintf("part-uploaded:%d", r.parts.Add(1)))
			}
			return out, md, err
		}), middleware.After)
}

// reuse proves that the object an earlier run stored holds the local bytes:
// the file is read once to compute its checksum, then compared with what
// S3 reports for that exact version.
func (u *Uploader) reuse(ctx context.Context, f *localFile, m recording.Media, key string, e recdir.File, mode string) (Verified, error) {
	var etag string
	ps := f.size
	if mode == VerifyETag && e.UploadID != "" && e.PartSize > 0 {
		ps = e.PartSize
	}
	t := u.tracker(f, m, ps, nil)
	if mode == VerifyETag {
		var err error
		if etag, err = md5Parts(t, f.size, ps, ps < f.size); err != nil {
			return Verified{}, err
		}
	} else if _, err := io.Copy(io.Discard, io.NewSectionReader(t, 0, f.size)); err != nil {
		return Verified{}, &localError{fmt.Errorf("upload: cannot read %s: %w", m.Name, err)}
	}
	local, err := t.Encoded()
	if err != nil {
		return Verified{}, err
	}
	if err := sameFile(f, m); err != nil {
		return Verified{}, err
	}
	v, err := u.verify(ctx, m, f.size, key, e.VersionID, local, mode, etag)
	if err != nil {
		return Verified{}, err
	}
	v.reused, v.parts, v.multipart = true, max(1, len(e.Parts)), e.UploadID != ""
	return v, nil
}

// resume continues the multipart upload e.UploadID: ListParts is the truth;
// a listed part is kept only if its size and checksum match the local bytes
// (the checksum listed, else the one recorded for that ETag, else, when
// neither exists, an ETag equal to the MD5 of the local bytes), everything
// else is (re)sent; then the upload is completed with the full-object
// checksum and verified as usual.
func (u *Uploader) resume(ctx context.Context, f *localFile, m recording.Media, obj Object, e recdir.File, mode string) (Verified, error) {
	listed, err := u.listParts(ctx, obj.Key, e.UploadID)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "NoSuchUpload" {
			return Verified{}, errUploadGone
		}
		return Verified{}, fmt.Errorf("upload: cannot list parts of %s: %w", obj.Key, err)
	}
	u.abortStale(ctx, obj.Key, e.UploadID)
	t := u.tracker(f, m, e.PartSize, nil)
	n := int32((f.size + e.PartSize - 1) / e.PartSize)
	done := make([]types.CompletedPart, 0, n)
	md5s := newPartMD5s()
	var send []int32
	for i := int32(1); i <= n; i++ {
		if err := ctx.Err(); err != nil {
			return Verified{}, fmt.Errorf("upload: resuming %s: %w", obj.Key, err)
		}
		off := int64(i-1) * e.PartSize
		size := min(e.PartSize, f.size-off)
		p, ok := listed[i]
		if ok && aws.ToInt64(p.Size) == size {
			if mode != VerifyChecksum {
				// The part's ETag is the MD5 of its bytes on the stores
				// these modes serve (the probe checked it for etag; for
				// readback a part kept wrongly is caught by the read-back).
				sum, err := partMD5(ctx, t, off, size)
				if err != nil {
					return Verified{}, err
				}
				if etagIsMD5(aws.ToString(p.ETag), sum) {
					md5s.set(i, sum)
					done = append(done, types.CompletedPart{PartNumber: aws.Int32(i), ETag: p.ETag})
					continue
				}
				send = append(send, i)
				continue
			}
			want := pick(u.opts.Checksum, p.ChecksumCRC32C, p.ChecksumCRC64NVME)
			if want == "" {
				// Some stores list parts without checksums: the one
				// UploadPart returned for this very part (same ETag) stands in.
				want = recordedChecksum(e.Parts, i, aws.ToString(p.ETag))
			}
			// The MD5 is needed only when nothing else can prove the part.
			got, sum, err := u.partSums(ctx, t, off, size, want == "")
			if err != nil {
				return Verified{}, err
			}
			if want != "" {
				if got == want {
					done = append(done, completedPart(i, p.ETag, got, u.opts.Checksum))
					continue
				}
			} else if etagIsMD5(aws.ToString(p.ETag), sum) {
				// Neither the listing nor the record has this part's
				// checksum (SeaweedFS lists none, and the record is
				// written in batches: a run killed just after S3 stored
				// the part did not record it). Its ETag, the MD5 of the
				// stored bytes, equal to the MD5 of the local ones, proves
				// it; S3 then checks the part checksum given with
				// CompleteMultipartUpload and the full-object one. An ETag
				// that is not a plain MD5 (SSE-KMS, SSE-C) proves nothing:
				// the part is sent again.
				done = append(done, completedPart(i, p.ETag, got, u.opts.Checksum))
				if obj.Progress != nil {
					obj.Progress.Part(m.Name, e.UploadID, recdir.Part{Number: i, Size: size, ETag: aws.ToString(p.ETag), Checksum: got})
				}
				continue
			}
		}
		send = append(send, i)
	}
	rec := &partRecorder{u: u, f: f, m: m, obj: obj, partSize: e.PartSize, mode: mode}
	rec.parts.Store(int32(len(done)))
	sent, err := u.sendParts(ctx, t, obj, e, send, rec, mode, md5s)
	if err != nil {
		return Verified{}, err
	}
	done = append(done, sent...)
	sort.Slice(done, func(a, b int) bool { return aws.ToInt32(done[a].PartNumber) < aws.ToInt32(done[b].PartNumber) })

	u.failpoint("before-complete")
	if err := sameFile(f, m); err != nil {
		return Verified{}, err
	}
	local, err := t.Encoded()
	if err != nil {
		return Verified{}, fmt.Errorf("upload: %s: %w", m.Name, err)
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(u.opts.Bucket), Key: aws.String(obj.Key), UploadId: aws.String(e.UploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	}
	if mode == VerifyChecksum {
		in.ChecksumType = types.ChecksumTypeFullObject
		set(u.opts.Checksum, &in.ChecksumCRC32C, &in.ChecksumCRC64NVME, local)
	}
	out, err := u.api.CompleteMultipartUpload(ctx, in)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && refusedAssembly[api.ErrorCode()] {
			// The stored parts, each proven to hold the local bytes, do not
			// assemble into an object S3 accepts: an upload of another
			// checksum type does this (the test), and it was seen once on
			// MinIO after a kill -9 mid-upload. Nothing was stored: abandon
			// this upload and send the file again from scratch.
			u.abort(ctx, obj.Key, e.UploadID)
			return Verified{}, fmt.Errorf("%w: S3 refused to assemble it: %v", errUploadGone, err)
		}
		return Verified{}, fmt.Errorf("upload: cannot complete resumed upload of %s: %w", obj.Key, err)
	}
	u.completed(obj, f, m, e.PartSize, aws.ToString(out.VersionId), local, mode)
	u.failpoint("after-complete")
	if err := sameFile(f, m); err != nil {
		return Verified{}, err
	}
	var etag string
	if mode == VerifyETag {
		if etag, err = md5s.expectedETag(int(n)); err != nil {
			return Verified{}, err
		}
	}
	v, err := u.verify(ctx, m, f.size, obj.Key, aws.ToString(out.VersionId), local, mode, etag)
	if err != nil {
		return Verified{}, err
	}
	v.multipart, v.parts, v.sentParts = true, int(n), len(sent)
	return v, nil
}

func completedPart(n int32, etag *string, sum string, alg checksum.Algorithm) types.CompletedPart {
	p := types.CompletedPart{PartNumber: aws.Int32(n), ETag: etag}
	set(alg, &p.ChecksumCRC32C, &p.ChecksumCRC64NVME, sum)
	return p
}

// readPart reads one part once through the tracker (which also feeds the
// full-object checksum) into the given hashes, streaming it. It stops when
// ctx is done.
func readPart(ctx context.Context, t *checksum.Tracker, off, size int64, hashes ...io.Writer) error {
	if _, err := io.Copy(io.MultiWriter(hashes...), &ctxReader{ctx: ctx, r: io.NewSectionReader(t, off, size)}); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("upload: reading part at %d: %w", off, err)
		}
		return &localError{fmt.Errorf("upload: cannot read part at %d: %w", off, err)}
	}
	return nil
}

// partSums reads one part (readPart) and returns its checksum and, when
// withMD5, its MD5.
func (u *Uploader) partSums(ctx context.Context, t *checksum.Tracker, off, size int64, withMD5 bool) (string, [md5.Size]byte, error) {
	var sum [md5.Size]byte
	w := &crcWriter{alg: u.opts.Checksum}
	hashes := []io.Writer{w}
	h := md5.New()
	if withMD5 {
		hashes = append(hashes, h)
	}
	if err := readPart(ctx, t, off, size, hashes...); err != nil {
		return "", sum, err
	}
	if withMD5 {
		copy(sum[:], h.Sum(nil))
	}
	return u.opts.Checksum.Encode(w.crc), sum, nil
}

// partMD5 reads one part (readPart) and returns its MD5.
func partMD5(ctx context.Context, t *checksum.Tracker, off, size int64) ([md5.Size]byte, error) {
	var sum [md5.Size]byte
	h := md5.New()
	if err := readPart(ctx, t, off, size, h); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// etagIsMD5 reports whether etag, as S3 lists it (quoted), is the hex
// MD5 sum. A multipart or encrypted ETag never is.
func etagIsMD5(etag string, sum [md5.Size]byte) bool {
	return strings.EqualFold(strings.Trim(etag, `"`), hex.EncodeToString(sum[:]))
}

// ctxReader ends a long local read when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// sendParts uploads the given part numbers with bounded concurrency.
func (u *Uploader) sendParts(ctx context.Context, t *checksum.Tracker, obj Object, e recdir.File, nums []int32, rec *partRecorder, mode string, md5s *partMD5s) ([]types.CompletedPart, error) {
	var (
		mu  sync.Mutex
		out []types.CompletedPart
	)
	admit := func(n int32) error {
		if err := obj.gate.admit(int(n)); err != nil {
			return fmt.Errorf("upload: %s: %w", obj.Key, err)
		}
		return nil
	}
	err := each(ctx, nums, u.opts.Concurrency, admit, func(ctx context.Context, n int32) error {
		off := int64(n-1) * e.PartSize
		size := min(e.PartSize, t.Size()-off)
		in := &s3.UploadPartInput{
			Bucket: aws.String(u.opts.Bucket), Key: aws.String(obj.Key), UploadId: aws.String(e.UploadID),
			PartNumber: aws.Int32(n), ContentLength: aws.Int64(size), Body: io.NewSectionReader(t, off, size),
		}
		if mode == VerifyChecksum {
			in.ChecksumAlgorithm = types.ChecksumAlgorithm(u.opts.Checksum)
		}
		res, err := u.api.UploadPart(ctx, in, func(o *s3.Options) {
			if mode != VerifyChecksum {
				o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
				o.APIOptions = append(o.APIOptions, contentMD5(md5s))
			}
			o.APIOptions = append(o.APIOptions, rec.middleware)
		})
		if err != nil {
			return fmt.Errorf("upload: cannot upload part %d of %s: %w", n, obj.Key, err)
		}
		p := types.CompletedPart{PartNumber: aws.Int32(n), ETag: res.ETag}
		if mode == VerifyChecksum {
			p = completedPart(n, res.ETag, pick(u.opts.Checksum, res.ChecksumCRC32C, res.ChecksumCRC64NVME), u.opts.Checksum)
		}
		mu.Lock()
		out = append(out, p)
		mu.Unlock()
		return nil
	})
	return out, err
}

func (u *Uploader) listParts(ctx context.Context, key, uploadID string) (map[int32]types.Part, error) {
	parts := map[int32]types.Part{}
	in := &s3.ListPartsInput{Bucket: aws.String(u.opts.Bucket), Key: aws.String(key), UploadId: aws.String(uploadID)}
	for {
		out, err := u.api.ListParts(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, p := range out.Parts {
			parts[aws.ToInt32(p.PartNumber)] = p
		}
		if !aws.ToBool(out.IsTruncated) || out.NextPartNumberMarker == nil {
			return parts, nil
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
}

// abort abandons one multipart upload (best effort).
func (u *Uploader) abort(ctx context.Context, key, uploadID string) {
	_, _ = u.api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(u.opts.Bucket), Key: aws.String(key), UploadId: aws.String(uploadID)})
}

// abortStale aborts every unfinished multipart upload of key except keep:
// leftovers of runs the journal no longer references. Without
// s3:ListBucketMultipartUploads this is skipped; the bucket's lifecycle rule
// removes them after a few days.
func (u *Uploader) abortStale(ctx context.Context, key, keep string) {
	out, err := u.api.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(u.opts.Bucket), Prefix: aws.String(key)})
	if err != nil {
		return
	}
	for _, up := range out.Uploads {
		if aws.ToString(up.Key) == key && aws.ToString(up.UploadId) != keep {
			u.abort(ctx, key, aws.ToString(up.UploadId))
		}
	}
}

// recordedChecksum returns the checksum recorded for part n when its ETag
// is etag, or "".
func recordedChecksum(parts []recdir.Part, n int32, etag string) string {
	for _, p := range parts {
		if p.Number == n && p.ETag != "" && p.ETag == etag {
			return p.Checksum
		}
	}
	return ""
}
