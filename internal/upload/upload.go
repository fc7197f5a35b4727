package upload

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// API is the part of the S3 client this package uses.
type API interface {
	manager.UploadAPIClient
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	ListParts(context.Context, *s3.ListPartsInput, ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	ListMultipartUploads(context.Context, *s3.ListMultipartUploadsInput, ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
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
	Bucket      string
	PartSize    int64 // bytes, >= 5 MiB
	Concurrency int   // parts in flight per file
	Checksum    checksum.Algorithm
	SSE         string // SSENone, SSES3 or SSEKMS
	KMSKeyID    string // with SSEKMS; empty means the bucket's default key
	// SSEMismatchWarn accepts an object whose store reports another
	// encryption than asked (logged by the caller and recorded in the
	// manifest) instead of failing with ErrSSEMismatch.
	SSEMismatchWarn bool
	Tags            map[string]string
	StorageClass    string
	// Verify is the verification mode (VerifyChecksum when empty). With
	// VerifyAuto, ResolveVerify is asked once, before the first upload.
	Verify        string
	ResolveVerify func(context.Context) (string, error)
	// Progress, when set, is called as the file is read: bytes read so far
	// (re-reads of retried parts included) and the file size.
	Progress func(file string, done, total int64)
	// Faststart stores an MP4 file whose moov follows its media (Jibri's
	// layout) rearranged with the moov first, so that it plays from its
	// first bytes; see mp4.Faststart. Other files are stored as they are.
	Faststart bool
	// Failpoint, when set, is called at named points (fault-injection tests
	// use it to kill the process at an exact stage).
	Failpoint func(name string)
}

// Object describes where and how one file is stored.
type Object struct {
	Key         string
	ContentType string
	Metadata    map[string]string // user metadata, as FitMetadata returns it
	Progress    Progress          // optional: resume and reuse across runs
	// HandOffAt, when set, stops the upload cleanly by then: no part is
	// started that cannot be expected to finish before it, parts in flight
	// finish and are recorded, and Upload returns ErrHandOff with the
	// multipart upload left for a later run to continue.
	HandOffAt time.Time

	gate *holdGate // set by Upload from HandOffAt
}

// Progress records a file's upload across runs (recdir.Store). Files are
// named by their name in the recording directory.
//
// Error contract: Begin and Part never fail here; they are best effort
// (written in the background, ListParts stays the truth for parts), and a
// write error surfaces later in the owner's Flush. Complete returns only
// once the completed object is recorded durably, or an error when it may
// not be; the upload itself still stands (the object is stored and is then
// verified), and a later run that does not find it recorded proves S3
// holds the local bytes by reading them again, or uploads a new version.
type Progress interface {
	// Earlier returns what an earlier run recorded for the file.
	Earlier(name string) (recdir.File, bool)
	// Begin records that a new multipart upload of the file began,
	// replacing the identity, upload id and parts recorded before.
	Begin(name string, f recdir.File)
	// Part records a stored part of upload uploadID of the file.
	Part(name, uploadID string, p recdir.Part)
	// Complete records that the file is stored under key as versionID with
	// the full-object checksum sum; f is the file's identity, used when
	// no upload was begun (single-part uploads).
	Complete(name, key, versionID, sum string, f recdir.File) error
}

// Uploader uploads and verifies files.
type Uploader struct {
	api  API
	opts Options
	mgr  *manager.Uploader

	modeMu   sync.Mutex
	resolved string // the verification mode, once known
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
		// Keep the parts of a failed upload: the journal lets the next
		// attempt continue it, and abortStale or the bucket's lifecycle rule
		// removes what nobody continues.
		u.LeavePartsOnError = true
	})
	return &Uploader{api: api, opts: opts, mgr: mgr}
}

// Verified is a file that S3 was proven to hold: same size and same
// full-object checksum as the bytes read locally, and the local file did not
// change while it was read. Only Upload creates one.
type Verified struct {
	media      recording.Media
	key        string
	etag       string
	versionID  string
	checksum   string
	multipart  bool
	parts      int
	sentParts  int  // parts sent by this run
	reused     bool // the object was already stored by an earlier run
	started    time.Time
	duration   time.Duration
	encryption Encryption
	mode       string // the verification mode that proved it
	size       int64  // of the object
	layout     string // "" or mp4.FaststartLayout
	kept       string // why an MP4 was stored as it is, with Faststart on
}

// Media returns the local file that was verified.
func (v Verified) Media() recording.Media { return v.media }

// Encryption returns the encryption the store reports for the object.
func (v Verified) Encryption() Encryption { return v.encryption }

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

// SentParts returns how many parts this run sent (0 when an earlier run's
// object was reused; fewer than Parts when an upload was resumed).
func (v Verified) SentParts() int { return v.sentParts }

// Reused reports that an earlier run had already stored the object.
func (v Verified) Reused() bool { return v.reused }

// Started returns when the upload began.
func (v Verified) Started() time.Time { return v.started }

// Duration returns how long upload and verification took.
func (v Verified) Duration() time.Duration { return v.duration }

// Verification returns how the object was proven: VerifyChecksum,
// VerifyETag or VerifyReadback.
func (v Verified) Verification() string { return v.mode }

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
//
// With a journal, an earlier run's work is reused: an object the journal
// says was completed is verified against the local bytes instead of being
// sent again, and an unfinished multipart upload is continued (parts whose
// size and checksum match the local bytes are kept). Uploads the journal no
// longer references for this key are aborted.
func (u *Uploader) Upload(ctx context.Context, m recording.Media, obj Object) (Verified, error) {
	started := time.Now()
	obj.gate = newHoldGate(obj.HandOffAt)
	if obj.gate.due() {
		return Verified{}, fmt.Errorf("upload: %s: %w", m.Name, ErrHandOff)
	}
	osf, err := os.OpenFile(m.Path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return Verified{}, &localError{fmt.Errorf("upload: cannot open %s: %w", m.Name, err)}
	}
	defer osf.Close()
	f := &localFile{file: osf, r: osf, size: m.Size}
	if err := sameFile(f, m); err != nil {
		return Verified{}, err
	}
	if err := u.rearrange(f, m); err != nil {
		return Verified{}, err
	}
	partSize := u.partSize(f.size)
	mode, err := u.mode(ctx)
	if err != nil {
		return Verified{}, err
	}

	v, err := u.continueEarlier(ctx, f, m, obj, partSize, mode)
	if err != nil && errors.Is(err, errStartOver) {
		v, err = u.fresh(ctx, f, m, obj, partSize, mode)
	}
	v.started = started
	v.duration = time.Since(started)
	v.size, v.layout, v.kept = f.size, f.layout, f.kept
	return v, err
}

// errStartOver means there is nothing reusable from an earlier run.
var errStartOver = errors.New("upload: start over")

// continueEarlier reuses or resumes what the journal records for m.
func (u *Uploader) continueEarlier(ctx context.Context, f *localFile, m recording.Media, obj Object, partSize int64, mode string) (Verified, error) {
	if obj.Progress == nil {
		return Verified{}, errStartOver
	}
	e, ok := obj.Progress.Earlier(m.Name)
	if !ok {
		return Verified{}, errStartOver
	}
	same := e.Key == obj.Key && e.Size == m.Size && e.ModTimeNs == m.ModTime.UnixNano() && e.Ino == m.Ino && e.Dev == m.Dev &&
		e.Algorithm == string(u.opts.Checksum) && recordedMode(e) == mode && e.Rearranged == f.layout
	switch {
	case e.Status == recdir.FilePinned:
		return Verified{}, errStartOver
	case !same:
		// The file changed (or the key, or the layout it is sent in): the
		// old upload is worthless.
		if e.Status == recdir.FileUploading && e.UploadID != "" {
			u.abort(ctx, e.Key, e.UploadID)
		}
		return Verified{}, errStartOver
	case e.Status == recdir.FileCompleted:
		v, err := u.reuse(ctx, f, m, obj.Key, e, mode)
		if err != nil {
			// Not provably there (deleted, overwritten, wrong bytes): send again.
			return Verified{}, errStartOver
		}
		return v, nil
	case e.Status == recdir.FileUploading && e.UploadID != "" && resumable(e, f.size):
		// The upload continues with the part size it began with, whatever
		// the part size configured now.
		v, err := u.resume(ctx, f, m, obj, e, mode)
		if errors.Is(err, errUploadGone) {
			// Aborted or expired, or completed by a run that died before
			// journaling it: if S3 already holds these bytes, keep them.
			if v, err := u.reuse(ctx, f, m, obj.Key, recdir.File{PartSize: e.PartSize, UploadID: e.UploadID}, mode); err == nil {
				return v, nil
			}
			return Verified{}, errStartOver
		}
		return v, err
	}
	return Verified{}, errStartOver
}

// resumable reports whether the recorded upload e can be continued for a
// file of size bytes: a multipart upload with a valid part size.
func resumable(e recdir.File, size int64) bool {
	return e.PartSize >= manager.MinUploadPartSize && size > e.PartSize && (size+e.PartSize-1)/e.PartSize <= int64(manager.MaxUploadParts)
}

// fresh uploads m from scratch with manager.Uploader, journaling the
// upload id and every part so that a later run can continue it.
func (u *Uploader) fresh(ctx context.Context, f *localFile, m recording.Media, obj Object, partSize int64, mode string) (Verified, error) {
	multipart := f.size > partSize
	if multipart {
		u.abortStale(ctx, obj.Key, "")
	}
	tracker := u.tracker(f, m, partSize, obj.gate)
	in := &s3.PutObjectInput{
		Bucket:        aws.String(u.opts.Bucket),
		Key:           aws.String(obj.Key),
		Body:          tracker,
		ContentLength: aws.Int64(f.size),
		ContentType:   aws.String(obj.ContentType),
		Metadata:      obj.Metadata,
	}
	u.applyObjectOptions(in)
	rec := &partRecorder{u: u, f: f, m: m, obj: obj, partSize: partSize, mode: mode}
	md5s := newPartMD5s()
	if mode == VerifyChecksum {
		in.ChecksumAlgorithm = types.ChecksumAlgorithm(u.opts.Checksum)
	}
	out, err := u.mgr.Upload(ctx, in, func(mu *manager.Uploader) {
		mu.PartSize = partSize
		if mode != VerifyChecksum {
			// No checksum headers or trailers at all: a store without
			// checksum support may choke on them. Content-MD5 instead.
			mu.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		}
		mu.ClientOptions = append(mu.ClientOptions, func(o *s3.Options) {
			if mode == VerifyChecksum {
				o.APIOptions = append(o.APIOptions, fullObjectChecksum(tracker, u.opts.Checksum), rec.middleware)
				return
			}
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.APIOptions = append(o.APIOptions, contentMD5(md5s), rec.middleware)
		})
	})
	if err != nil {
		if errors.Is(err, checksum.ErrIncomplete) {
			return Verified{}, fmt.Errorf("upload: %s: %w", m.Name, err)
		}
		if errors.Is(err, ErrChanged) {
			return Verified{}, closest(err, ErrChanged) // stopped before completion
		}
		if errors.Is(err, ErrHandOff) {
			return Verified{}, fmt.Errorf("upload: %s: %w", m.Name, ErrHandOff)
		}
		return Verified{}, fmt.Errorf("upload: cannot upload %s to %s: %w", m.Name, obj.Key, err)
	}
	local, err := tracker.Encoded()
	if err != nil {
		return Verified{}, fmt.Errorf("upload: %s: %w", m.Name, err)
	}
	u.completed(obj, f, m, partSize, aws.ToString(out.VersionID), local, mode)
	u.failpoint("after-complete")
	// The bytes sent were read from the first m.Size bytes of the file; they
	// only stand for it if it did not grow, shrink or get rewritten meanwhile.
	if err := sameFile(f, m); err != nil {
		return Verified{}, err
	}
	var etag string
	if mode == VerifyETag {
		n := 0
		if out.UploadID != "" {
			n = len(out.CompletedParts)
		}
		if etag, err = md5s.expectedETag(n); err != nil {
			return Verified{}, err
		}
	}
	v, err := u.verify(ctx, m, f.size, obj.Key, aws.ToString(out.VersionID), local, mode, etag)
	if err != nil {
		return Verified{}, err
	}
	v.multipart = out.UploadID != ""
	v.parts = max(1, len(out.CompletedParts))
	v.sentParts = v.parts
	return v, nil
}

func (u *Uploader) tracker(f *localFile, m recording.Media, partSize int64, gate *holdGate) *checksum.Tracker {
	t := checksum.NewTracker(u.opts.Checksum, f.r, f.size, partSize)
	if gate != nil {
		t.Gate(gate.admit)
	}
	if u.opts.Progress != nil {
		var done atomic.Int64
		t.OnRead(func(n int) { u.opts.Progress(m.Name, done.Add(int64(n)), f.size) })
	}
	return t
}

// completed records a stored object, durably before anything else
// happens: a run killed right after this must find the object instead of
// uploading it a second time. A failure to record it is not a failure of
// the upload (see Progress).
func (u *Uploader) completed(obj Object, f *localFile, m recording.Media, partSize int64, versionID, sum, mode string) {
	if obj.Progress == nil {
		return
	}
	_ = obj.Progress.Complete(m.Name, obj.Key, versionID, sum, identity(m, f, partSize, u.opts.Checksum, mode))
}

func (u *Uploader) failpoint(name string) {
	if u.opts.Failpoint != nil {
		u.opts.Failpoint(name)
	}
}

func (u *Uploader) applyObjectOptions(in *s3.PutObjectInput) {
	in.ServerSideEncryption, in.SSEKMSKeyId = SSEHeaders(u.opts.SSE, u.opts.KMSKeyID)
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

// verify asks S3 what it stored and compares it with what was read, the
// way mode says: local is the CRC of the bytes read, etag (VerifyETag) the
// ETag their MD5s make.
func (u *Uploader) verify(ctx context.Context, m recording.Media, size int64, key, versionID, local, mode, etag string) (Verified, error) {
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
	if got := aws.ToInt64(head.ContentLength); got != size {
		return Verified{}, fmt.Errorf("%w: %s: S3 holds %d bytes, the local bytes are %d", ErrMismatch, key, got, size)
	}
	if versionID == "" {
		versionID = aws.ToString(head.VersionId)
	}
	if err := u.compare(ctx, head, key, versionID, size, local, mode, etag); err != nil {
		return Verified{}, err
	}
	enc := encryptionOf(head)
	if why := checkEncryption(u.opts.SSE, u.opts.KMSKeyID, enc); why != "" {
		if !u.opts.SSEMismatchWarn {
			return Verified{}, fmt.Errorf("%w: %s: %s", ErrSSEMismatch, key, why)
		}
		enc.Mismatch = why
	}
	return Verified{
		mode:       mode,
		media:      m,
		key:        key,
		etag:       strings.Trim(aws.ToString(head.ETag), `"`),
		versionID:  versionID,
		checksum:   local,
		encryption: enc,
	}, nil
}

// compare proves, the way mode says, that the stored object (head) holds
// the bytes read.
func (u *Uploader) compare(ctx context.Context, head *s3.HeadObjectOutput, key, versionID string, size int64, local, mode, etag string) error {
	switch mode {
	case VerifyChecksum:
		remote := headChecksum(head, u.opts.Checksum)
		if remote == "" {
			return fmt.Errorf("%w: %s: S3 returned no %s checksum, so the object cannot be proven", ErrMismatch, key, u.opts.Checksum)
		}
		if head.ChecksumType == types.ChecksumTypeComposite || strings.Contains(remote, "-") {
			return fmt.Errorf("%w: %s: S3 stored a composite checksum %q, not the full-object one", ErrMismatch, key, remote)
		}
		if remote != local {
			return fmt.Errorf("%w: %s: S3 checksum %s, local %s", ErrMismatch, key, remote, local)
		}
		return nil
	case VerifyETag:
		remote := strings.Trim(aws.ToString(head.ETag), `"`)
		if remote == "" || etag == "" {
			return fmt.Errorf("%w: %s: no ETag to compare (S3 %q, local %q)", ErrMismatch, key, remote, etag)
		}
		if !strings.EqualFold(remote, etag) {
			return fmt.Errorf("%w: %s: S3 ETag %s, the MD5s of the bytes read make %s (a store whose ETags are not MD5s needs --verify readback)", ErrMismatch, key, remote, etag)
		}
		return nil
	case VerifyReadback:
		remote, err := u.readback(ctx, key, versionID, size)
		if err != nil {
			return err
		}
		if remote != local {
			return fmt.Errorf("%w: %s: the %s of the bytes read back is %s, local %s", ErrMismatch, key, u.opts.Checksum, remote, local)
		}
		return nil
	}
	return fmt.Errorf("upload: unknown verification mode %q", mode)
}

func headChecksum(h *s3.HeadObjectOutput, alg checksum.Algorithm) string {
	return pick(alg, h.ChecksumCRC32C, h.ChecksumCRC64NVME)
}

// sameFile checks that f is still the scanned file with the scanned size
// and modification time, and that the path still names it.
func sameFile(f *localFile, m recording.Media) error {
	fi, err := f.file.Stat()
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
					set(alg, &p.ChecksumCRC32C, &p.ChecksumCRC64NVME, sum)
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}

// closest returns the error in err's chain that directly wraps target (the
// one that says what happened), without the SDK's layers around it.
func closest(err, target error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errors.Unwrap(e) == target {
			return e
		}
	}
	return err
}
