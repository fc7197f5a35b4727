package upload

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// API is the part of the S3 client this package uses.
type API interface {
	manager.UploadAPIClient
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

var _ API = (*s3.Client)(nil)

// Server-side encryption modes.
const (
	SSENone = ""
	SSES3   = "AES256"
	SSEKMS  = "aws:kms"
)

// Options configure every upload.
type Options struct {
	Bucket       string
	PartSize     int64 // bytes, >= 5 MiB
	Concurrency  int   // parts in flight per file
	Checksum     checksum.Algorithm
	SSE          string // SSENone, SSES3 or SSEKMS
	KMSKeyID     string // with SSEKMS; empty means the bucket's default key
	Tags         map[string]string
	StorageClass string
	// Progress, when set, is called as the file is read: bytes read so far
	// (re-reads of retried parts included) and the file size.
	Progress func(file string, done, total int64)
}

// Object describes where and how one file is stored.
type Object struct {
	Key         string
	ContentType string
	Metadata    map[string]string // user metadata, values escaped by EscapeMetadata
}

// Uploader uploads and verifies files.
type Uploader struct {
	api  API
	opts Options
	mgr  *manager.Uploader
}

// New returns an Uploader. Options are assumed validated by the caller
// (see package config).
func New(api API, opts Options) *Uploader {
	if opts.PartSize < manager.MinUploadPartSize {
		opts.PartSize = manager.MinUploadPartSize
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.Checksum == "" {
		opts.Checksum = checksum.CRC32C
	}
	mgr := manager.NewUploader(api, func(u *manager.Uploader) {
		u.PartSize = opts.PartSize
		u.Concurrency = opts.Concurrency
		u.LeavePartsOnError = false // abort the multipart upload on failure
	})
	return &Uploader{api: api, opts: opts, mgr: mgr}
}

// Verified is a file that S3 was proven to hold: same size and same
// full-object checksum as the bytes read locally, and the local file did not
// change while it was read. Only Upload creates one.
type Verified struct {
	media     recording.Media
	key       string
	etag      string
	versionID string
	checksum  string
	multipart bool
	parts     int
	started   time.Time
	duration  time.Duration
}

// Media returns the local file that was verified.
func (v Verified) Media() recording.Media { return v.media }

// Key returns the object key.
func (v Verified) Key() string { return v.key }

// ETag returns the object's ETag without quotes.
func (v Verified) ETag() string { return v.etag }

// VersionID returns the object version ("" on an unversioned bucket).
func (v Verified) VersionID() string { return v.versionID }

// Checksum returns the base64 full-object checksum S3 confirmed.
func (v Verified) Checksum() string { return v.checksum }

// Parts returns the number of parts (1 for a single PUT).
func (v Verified) Parts() int { return v.parts }

// Started returns when the upload began.
func (v Verified) Started() time.Time { return v.started }

// Duration returns how long upload and verification took.
func (v Verified) Duration() time.Duration { return v.duration }

// Algorithm returns the checksum algorithm in use.
func (u *Uploader) Algorithm() checksum.Algorithm { return u.opts.Checksum }

// partSize returns the part size manager.Uploader will really use for size
// bytes (it grows parts to stay under 10,000).
func (u *Uploader) partSize(size int64) int64 {
	ps := u.opts.PartSize
	if size/ps >= int64(manager.MaxUploadParts) {
		ps = size/int64(manager.MaxUploadParts) + 1
	}
	return ps
}

// Upload sends m to obj.Key and verifies it. The file must still be the one
// the scan saw; if it changes during the upload the result is ErrChanged.
func (u *Uploader) Upload(ctx context.Context, m recording.Media, obj Object) (Verified, error) {
	started := time.Now()
	f, err := os.OpenFile(m.Path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return Verified{}, &localError{fmt.Errorf("upload: cannot open %s: %w", m.Name, err)}
	}
	defer f.Close()
	if err := sameFile(f, m); err != nil {
		return Verified{}, err
	}

	partSize := u.partSize(m.Size)
	tracker := checksum.NewTracker(u.opts.Checksum, f, m.Size, partSize)
	if u.opts.Progress != nil {
		var done atomic.Int64
		tracker.OnRead(func(n int) { u.opts.Progress(m.Name, done.Add(int64(n)), m.Size) })
	}
	in := &s3.PutObjectInput{
		Bucket:            aws.String(u.opts.Bucket),
		Key:               aws.String(obj.Key),
		Body:              tracker,
		ContentLength:     aws.Int64(m.Size),
		ContentType:       aws.String(obj.ContentType),
		Metadata:          obj.Metadata,
		ChecksumAlgorithm: types.ChecksumAlgorithm(u.opts.Checksum),
	}
	u.applyObjectOptions(in)

	out, err := u.mgr.Upload(ctx, in, func(mu *manager.Uploader) {
		mu.PartSize = partSize
		mu.ClientOptions = append(mu.ClientOptions, func(o *s3.Options) {
			o.APIOptions = append(o.APIOptions, fullObjectChecksum(tracker, u.opts.Checksum))
		})
	})
	if err != nil {
		if errors.Is(err, checksum.ErrIncomplete) {
			return Verified{}, fmt.Errorf("upload: %s: %w", m.Name, err)
		}
		return Verified{}, fmt.Errorf("upload: cannot upload %s to %s: %w", m.Name, obj.Key, err)
	}
	local, err := tracker.Encoded()
	if err != nil {
		return Verified{}, fmt.Errorf("upload: %s: %w", m.Name, err)
	}
	// The bytes sent are the first m.Size bytes; they only stand for the file
	// if it did not grow, shrink or get rewritten meanwhile.
	if err := sameFile(f, m); err != nil {
		return Verified{}, err
	}

	v, err := u.verify(ctx, m, obj.Key, aws.ToString(out.VersionID), local)
	if err != nil {
		return Verified{}, err
	}
	v.multipart = out.UploadID != ""
	v.parts = max(1, len(out.CompletedParts))
	v.started = started
	v.duration = time.Since(started)
	return v, nil
}

func (u *Uploader) applyObjectOptions(in *s3.PutObjectInput) {
	switch u.opts.SSE {
	case SSES3:
		in.ServerSideEncryption = types.ServerSideEncryptionAes256
	case SSEKMS:
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		if u.opts.KMSKeyID != "" {
			in.SSEKMSKeyId = aws.String(u.opts.KMSKeyID)
		}
	}
	if len(u.opts.Tags) > 0 {
		q := url.Values{}
		for k, v := range u.opts.Tags {
			q.Set(k, v)
		}
		in.Tagging = aws.String(q.Encode())
	}
	if u.opts.StorageClass != "" {
		in.StorageClass = types.StorageClass(u.opts.StorageClass)
	}
}

// verify asks S3 what it stored and compares it with what was read.
func (u *Uploader) verify(ctx context.Context, m recording.Media, key, versionID, local string) (Verified, error) {
	in := &s3.HeadObjectInput{
		Bucket:       aws.String(u.opts.Bucket),
		Key:          aws.String(key),
		ChecksumMode: types.ChecksumModeEnabled,
	}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	head, err := u.api.HeadObject(ctx, in)
	if err != nil {
		return Verified{}, fmt.Errorf("upload: cannot verify %s: %w", key, err)
	}
	if got := aws.ToInt64(head.ContentLength); got != m.Size {
		return Verified{}, fmt.Errorf("%w: %s: S3 holds %d bytes, local file has %d", ErrMismatch, key, got, m.Size)
	}
	remote := headChecksum(head, u.opts.Checksum)
	if remote == "" {
		return Verified{}, fmt.Errorf("%w: %s: S3 returned no %s checksum, so the object cannot be proven", ErrMismatch, key, u.opts.Checksum)
	}
	if head.ChecksumType == types.ChecksumTypeComposite || strings.Contains(remote, "-") {
		return Verified{}, fmt.Errorf("%w: %s: S3 stored a composite checksum %q, not the full-object one", ErrMismatch, key, remote)
	}
	if remote != local {
		return Verified{}, fmt.Errorf("%w: %s: S3 checksum %s, local %s", ErrMismatch, key, remote, local)
	}
	if versionID == "" {
		versionID = aws.ToString(head.VersionId)
	}
	return Verified{
		media:     m,
		key:       key,
		etag:      strings.Trim(aws.ToString(head.ETag), `"`),
		versionID: versionID,
		checksum:  local,
	}, nil
}

func headChecksum(h *s3.HeadObjectOutput, alg checksum.Algorithm) string {
	if alg == checksum.CRC64NVME {
		return aws.ToString(h.ChecksumCRC64NVME)
	}
	return aws.ToString(h.ChecksumCRC32C)
}

// sameFile checks that f is still the scanned file with the scanned size
// and modification time, and that the path still names it.
func sameFile(f *os.File, m recording.Media) error {
	fi, err := f.Stat()
	if err != nil {
		return &localError{fmt.Errorf("upload: cannot stat %s: %w", m.Name, err)}
	}
	st := fi.Sys().(*syscall.Stat_t)
	if uint64(st.Dev) != m.Dev || st.Ino != m.Ino {
		return fmt.Errorf("%w: %s was replaced by another file", ErrChanged, m.Name)
	}
	if fi.Size() != m.Size || !fi.ModTime().Equal(m.ModTime) {
		return fmt.Errorf("%w: %s is %d bytes modified %s, scan saw %d bytes modified %s (still being written?)",
			ErrChanged, m.Name, fi.Size(), fi.ModTime().Format(time.RFC3339Nano), m.Size, m.ModTime.Format(time.RFC3339Nano))
	}
	pi, err := os.Lstat(m.Path)
	if err != nil || !os.SameFile(fi, pi) {
		return fmt.Errorf("%w: %s was moved or replaced", ErrChanged, filepath.Base(m.Path))
	}
	return nil
}

// fullObjectChecksum makes the multipart upload a FULL_OBJECT one and gives
// CompleteMultipartUpload the CRC of the bytes the parts were read from, so
// S3 verifies the assembled object against it.
func fullObjectChecksum(t *checksum.Tracker, alg checksum.Algorithm) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("FullObjectChecksum",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				switch p := in.Parameters.(type) {
				case *s3.CreateMultipartUploadInput:
					p.ChecksumType = types.ChecksumTypeFullObject
					p.ChecksumAlgorithm = types.ChecksumAlgorithm(alg)
				case *s3.CompleteMultipartUploadInput:
					sum, err := t.Encoded()
					if err != nil {
						return middleware.InitializeOutput{}, middleware.Metadata{}, err
					}
					p.ChecksumType = types.ChecksumTypeFullObject
					if alg == checksum.CRC64NVME {
						p.ChecksumCRC64NVME = aws.String(sum)
					} else {
						p.ChecksumCRC32C = aws.String(sum)
					}
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}
