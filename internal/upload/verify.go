package upload

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
)

// Verification modes: how an upload proves that S3 holds the bytes read.
// This package owns the names; the probe and the configuration ask it.
const (
	// VerifyAuto is resolved per endpoint and bucket by a probe of the
	// store (Options.ResolveVerify) to one of the three modes below.
	VerifyAuto = "auto"
	// VerifyChecksum: the full-object CRC of the bytes read is given to
	// CompleteMultipartUpload (or PutObject), S3 verifies it, and HeadObject
	// must report the same value.
	VerifyChecksum = "checksum"
	// VerifyETag: every part carries Content-MD5, which the store checks,
	// and the object's ETag must equal the MD5 of the parts' MD5s (the MD5
	// of the body for a single part). Valid only where the store computes
	// ETags that way (not AWS with SSE-KMS).
	VerifyETag = "etag"
	// VerifyReadback: parts carry Content-MD5 as with VerifyETag, and the
	// stored object is then read back (ranged GETs in parallel) and its CRC
	// compared with the one computed while uploading. Works on any store;
	// costs the object's size in download traffic.
	VerifyReadback = "readback"
)

// VerifyModes lists the modes a configuration may name.
var VerifyModes = []string{VerifyAuto, VerifyChecksum, VerifyETag, VerifyReadback}

// ParseVerify validates a --verify setting.
func ParseVerify(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return VerifyAuto, nil
	}
	for _, m := range VerifyModes {
		if s == m {
			return s, nil
		}
	}
	return "", fmt.Errorf("verify %q: want one of %s", s, strings.Join(VerifyModes, ", "))
}

// mode returns the verification mode of this uploader, resolving auto
// once (an error leaves it unresolved, so the next upload asks again: the
// recording stays on disk meanwhile).
func (u *Uploader) mode(ctx context.Context) (string, error) {
	u.modeMu.Lock()
	defer u.modeMu.Unlock()
	if u.resolved != "" {
		return u.resolved, nil
	}
	m := u.opts.Verify
	if m == "" {
		m = VerifyChecksum
	}
	if m == VerifyAuto {
		if u.opts.ResolveVerify == nil {
			return "", errors.New("upload: verify auto without a store probe")
		}
		var err error
		if m, err = u.opts.ResolveVerify(ctx); err != nil {
			return "", fmt.Errorf("upload: cannot choose how to verify (probe of the store): %w", err)
		}
		if m != VerifyChecksum && m != VerifyETag && m != VerifyReadback {
			return "", fmt.Errorf("upload: the store probe chose %q, not a verification mode", m)
		}
	}
	u.resolved = m
	return m, nil
}

// partMD5s collects the MD5 of every part sent (by part number; 0 is a
// single-part PutObject), for the ETag the store must then report.
type partMD5s struct {
	mu   sync.Mutex
	sums map[int32][md5.Size]byte
}

func newPartMD5s() *partMD5s { return &partMD5s{sums: map[int32][md5.Size]byte{}} }

func (p *partMD5s) set(n int32, sum [md5.Size]byte) {
	p.mu.Lock()
	p.sums[n] = sum
	p.mu.Unlock()
}

func (p *partMD5s) get(n int32) ([md5.Size]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sums[n]
	return s, ok
}

// contentMD5 sets Content-MD5 on every PutObject and UploadPart: the body
// (a seekable section of the file) is hashed, then rewound for sending. The
// header must precede the body, so this is the one mode that reads a part
// twice (the second time from the page cache).
func contentMD5(sums *partMD5s) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ContentMD5",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				var (
					body io.Reader
					set  func(string)
					n    int32
				)
				switch p := in.Parameters.(type) {
				case *s3.PutObjectInput:
					body, set = p.Body, func(s string) { p.ContentMD5 = aws.String(s) }
				case *s3.UploadPartInput:
					body, set, n = p.Body, func(s string) { p.ContentMD5 = aws.String(s) }, aws.ToInt32(p.PartNumber)
				default:
					return next.HandleInitialize(ctx, in)
				}
				sum, err := md5Of(body)
				if err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, err
				}
				set(base64.StdEncoding.EncodeToString(sum[:]))
				sums.set(n, sum)
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}

// md5Of hashes a seekable body and rewinds it.
func md5Of(body io.Reader) ([md5.Size]byte, error) {
	var sum [md5.Size]byte
	rs, ok := body.(io.ReadSeeker)
	if !ok {
		return sum, errors.New("upload: Content-MD5 needs a seekable body")
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return sum, fmt.Errorf("upload: Content-MD5: %w", err)
	}
	h := md5.New()
	if _, err := io.Copy(h, rs); err != nil {
		return sum, &localError{fmt.Errorf("upload: cannot read a part for its Content-MD5: %w", err)}
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return sum, fmt.Errorf("upload: Content-MD5: %w", err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// multipartETag is the ETag S3-compatible stores give a multipart object:
// the MD5 of the concatenated part MD5s, a dash, and the part count.
func multipartETag(parts [][md5.Size]byte) string {
	h := md5.New()
	for _, p := range parts {
		h.Write(p[:])
	}
	return hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
}

// expectedETag is the ETag for the MD5s of n parts (n == 0: a single
// PutObject, whose MD5 is under part 0).
func (p *partMD5s) expectedETag(n int) (string, error) {
	if n == 0 {
		s, ok := p.get(0)
		if !ok {
			return "", errors.New("upload: no MD5 was computed for the object")
		}
		return hex.EncodeToString(s[:]), nil
	}
	parts := make([][md5.Size]byte, n)
	for i := range parts {
		s, ok := p.get(int32(i + 1))
		if !ok {
			return "", fmt.Errorf("upload: no MD5 was computed for part %d", i+1)
		}
		parts[i] = s
	}
	return multipartETag(parts), nil
}

// md5Parts hashes f's bytes in parts of partSize (read through t, which
// also computes the CRC) and returns the ETag a store must hold for them:
// multipart when parts > 0, else a single object.
func md5Parts(t *checksum.Tracker, size, partSize int64, multipart bool) (string, error) {
	if !multipart {
		h := md5.New()
		if _, err := io.Copy(h, io.NewSectionReader(t, 0, size)); err != nil {
			return "", &localError{fmt.Errorf("upload: cannot read: %w", err)}
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	var parts [][md5.Size]byte
	for off := int64(0); off < size; off += partSize {
		sum, err := md5Of(io.NewSectionReader(t, off, min(partSize, size-off)))
		if err != nil {
			return "", err
		}
		parts = append(parts, sum)
	}
	return multipartETag(parts), nil
}

// readback reads the stored object (that version) in ranged GETs, in
// parallel, and returns the CRC of what S3 returned.
func (u *Uploader) readback(ctx context.Context, key, versionID string, size int64) (string, error) {
	alg := u.opts.Checksum
	chunk := max(u.opts.PartSize, 8<<20)
	n := int((size + chunk - 1) / chunk)
	crcs := make([]uint64, n)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	err := each(ctx, idx, u.opts.Concurrency, nil, func(ctx context.Context, i int) error {
		off := int64(i) * chunk
		crc, err := u.readRange(ctx, key, versionID, off, min(chunk, size-off), alg)
		crcs[i] = crc
		return err
	})
	if err != nil {
		return "", err
	}
	var total uint64
	for i, c := range crcs {
		if i == 0 {
			total = c
			continue
		}
		total = alg.Combine(total, c, min(chunk, size-int64(i)*chunk))
	}
	if n == 0 {
		total = alg.Update(0, nil)
	}
	return alg.Encode(total), nil
}

// readRange GETs length bytes at off and returns their CRC; a short or
// long answer is a mismatch, not a partial success.
func (u *Uploader) readRange(ctx context.Context, key, versionID string, off, length int64, alg checksum.Algorithm) (uint64, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(u.opts.Bucket), Key: aws.String(key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+length-1))}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	// The SDK's own response validation has nothing to check on a range
	// (and says so in its log): the CRC below is the check.
	out, err := u.api.GetObject(ctx, in, func(o *s3.Options) { o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired })
	if err != nil {
		return 0, fmt.Errorf("upload: cannot read back %s at %d: %w", key, off, err)
	}
	defer out.Body.Close()
	w := &crcWriter{alg: alg}
	got, err := io.Copy(w, io.LimitReader(out.Body, length+1))
	if err != nil {
		return 0, fmt.Errorf("upload: cannot read back %s at %d: %w", key, off, err)
	}
	if got != length {
		return 0, fmt.Errorf("%w: %s: reading back %d bytes at %d returned %d", ErrMismatch, key, length, off, got)
	}
	return w.crc, nil
}
