// Package probe finds out what an S3-compatible store really does with the
// integrity and encryption headers finalize sends, by trying: it stores a
// few small objects (under a probe prefix, removed afterwards), some of them
// with deliberately wrong checksums, and reads back what the store reports.
// From the answers it picks the verification mode for --verify auto: a
// store that accepts a wrong checksum cannot be trusted to check the right
// one, and gets a mode that does not rely on it. Never "no verification".
package probe

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

// API is the part of the S3 client the probe uses.
type API interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(context.Context, *s3.UploadPartInput, ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListParts(context.Context, *s3.ListPartsInput, ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	GetBucketVersioning(context.Context, *s3.GetBucketVersioningInput, ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
}

var _ API = (*s3.Client)(nil)

// Options say what to probe: the bucket, where probe objects go, and the
// settings uploads will use.
type Options struct {
	Bucket   string
	Prefix   string // probe objects go under Prefix/.finalize-probe/
	Checksum checksum.Algorithm
	SSE      string // upload.SSENone, SSES3 or SSEKMS
	KMSKeyID string
}

// Answers of a check.
const (
	Yes     = "yes"
	No      = "no"
	Unknown = "unknown" // the check itself failed (permissions, network)
	Skipped = "n/a"
)

// Check is one finding.
type Check struct {
	Result string `json:"result"`
	Detail string `json:"detail,omitempty"`
	err    error  // why it is Unknown: kept for errors.Is/As (a missing bucket is permanent)
}

// OK reports a yes.
func (c Check) OK() bool { return c.Result == Yes }

func yes(format string, a ...any) Check { return Check{Result: Yes, Detail: fmt.Sprintf(format, a...)} }
func no(format string, a ...any) Check  { return Check{Result: No, Detail: fmt.Sprintf(format, a...)} }
func unknown(err error) Check           { return Check{Result: Unknown, Detail: err.Error(), err: err} }

// Report is what the store did.
type Report struct {
	Bucket string    `json:"bucket"`
	Time   time.Time `json:"time"`
	// Full-object multipart checksums stored and reported by HeadObject.
	CRC32C    Check `json:"full_object_crc32c"`
	CRC64NVME Check `json:"full_object_crc64nvme"`
	// A PutObject whose checksum header is wrong is refused.
	WrongChecksumRejected Check `json:"wrong_checksum_rejected"`
	// A CompleteMultipartUpload with a wrong full-object checksum (of the
	// configured algorithm) is refused: what finalize relies on.
	WrongFullObjectRejected Check `json:"wrong_full_object_rejected"`
	// ListParts lists each part's checksum (resume without re-reading).
	PartChecksums Check `json:"part_checksums_listed"`
	// A part whose Content-MD5 is wrong is refused.
	ContentMD5Checked Check `json:"content_md5_checked"`
	// ETags are MD5s of the body (single) and of the part MD5s (multipart),
	// with the configured encryption.
	MD5ETags Check `json:"md5_etags"`
	// Versioning of the bucket: Enabled, Suspended or Off.
	Versioning Check `json:"versioning"`
	// The configured server-side encryption is reported back.
	SSE Check `json:"sse_honoured"`
	// Mode is the verification mode auto picks, and Why says why.
	Mode string `json:"verify_mode"`
	Why  string `json:"why"`
	// Leftovers are probe objects that could not be removed.
	Leftovers []string `json:"leftovers,omitempty"`
}

// Run probes the store. It fails only when the checks the verification
// mode depends on cannot be made (then nothing can be chosen honestly).
func Run(ctx context.Context, api API, o Options) (Report, error) {
	p := &prober{api: api, o: o, base: strings.TrimSuffix(o.Prefix, "/") + "/.finalize-probe/" + time.Now().UTC().Format("20060102T150405.000000000Z")}
	if o.Prefix == "" {
		p.base = strings.TrimPrefix(p.base, "/")
	}
	if o.Checksum == "" {
		p.o.Checksum = checksum.CRC32C
	}
	defer p.cleanup()
	r := Report{Bucket: o.Bucket, Time: time.Now().UTC()}
	r.CRC32C, r.PartChecksums = p.fullObject(ctx, checksum.CRC32C)
	crc64, parts64 := p.fullObject(ctx, checksum.CRC64NVME)
	r.CRC64NVME = crc64
	if p.o.Checksum == checksum.CRC64NVME {
		r.PartChecksums = parts64
	}
	r.WrongChecksumRejected = p.wrongPut(ctx)
	r.WrongFullObjectRejected = p.wrongFullObject(ctx)
	r.ContentMD5Checked, r.MD5ETags = p.md5(ctx)
	r.Versioning = p.versioning(ctx)
	r.SSE = p.sse(ctx)
	r.Leftovers = p.leftovers
	mode, why, err := Choose(r, p.o.Checksum)
	if err != nil {
		return r, err
	}
	r.Mode, r.Why = mode, why
	return r, nil
}

// Choose picks the verification mode from a report: the full-object
// checksum where the store provably checks it, else ETags where they are
// provably MD5s and Content-MD5 is checked, else reading the object back.
func Choose(r Report, alg checksum.Algorithm) (mode, why string, err error) {
	full := r.CRC32C
	if alg == checksum.CRC64NVME {
		full = r.CRC64NVME
	}
	for _, c := range []Check{full, r.WrongFullObjectRejected, r.ContentMD5Checked, r.MD5ETags} {
		if c.Result == Unknown {
			if c.err != nil {
				return "", "", fmt.Errorf("probe: cannot tell what the store verifies: %w", c.err)
			}
			return "", "", fmt.Errorf("probe: cannot tell what the store verifies: %s", c.Detail)
		}
	}
	switch {
	case full.OK() && r.WrongFullObjectRejected.OK():
		return upload.VerifyChecksum, fmt.Sprintf("the store stores full-object %s checksums and refuses a wrong one", alg), nil
	case r.ContentMD5Checked.OK() && r.MD5ETags.OK():
		return upload.VerifyETag, "no trustworthy full-object checksum (" + firstNo(full, r.WrongFullObjectRejected) + "); Content-MD5 is checked and ETags are MD5s", nil
	}
	return upload.VerifyReadback, "neither full-object checksums nor MD5 ETags can be trusted (" + firstNo(full, r.WrongFullObjectRejected, r.ContentMD5Checked, r.MD5ETags) + "): objects are read back", nil
}

func firstNo(cs ...Check) string {
	for _, c := range cs {
		if !c.OK() {
			return c.Detail
		}
	}
	return ""
}

type prober struct {
	api       API
	o         Options
	base      string
	n         int
	created   []created
	leftovers []string
}

type created struct{ key, version, uploadID string }

func (p *prober) key(name string) string {
	p.n++
	return fmt.Sprintf("%s-%d-%s", p.base, p.n, name)
}

var body = bytes.Repeat([]byte("jibri-s3 store probe\n"), 50) // 1050 bytes

// plain is the per-request option of requests whose checksums the probe
// sets itself: the SDK must neither add nor compute its own.
func plain(o *s3.Options) {
	o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
}

func (p *prober) sseHeaders(in any) {
	mode, id := upload.SSEHeaders(p.o.SSE, p.o.KMSKeyID)
	switch v := in.(type) {
	case *s3.PutObjectInput:
		v.ServerSideEncryption, v.SSEKMSKeyId = mode, id
	case *s3.CreateMultipartUploadInput:
		v.ServerSideEncryption, v.SSEKMSKeyId = mode, id
	}
}

// multipart stores body as a one-part multipart upload with alg's
// full-object checksum sum (right or wrong) and returns the upload id,
// the key and the completion's error.
func (p *prober) multipart(ctx context.Context, alg checksum.Algorithm, sum, name string) (key string, parts *s3.ListPartsOutput, out *s3.CompleteMultipartUploadOutput, completeErr, err error) {
	key = p.key(name)
	cin := &s3.CreateMultipartUploadInput{Bucket: &p.o.Bucket, Key: &key, ChecksumAlgorithm: types.ChecksumAlgorithm(alg), ChecksumType: types.ChecksumTypeFullObject}
	p.sseHeaders(cin)
	c, err := p.api.CreateMultipartUpload(ctx, cin, plain)
	if err != nil {
		return key, nil, nil, nil, fmt.Errorf("create multipart upload: %w", err)
	}
	id := aws.ToString(c.UploadId)
	p.created = append(p.created, created{key: key, uploadID: id})
	pin := &s3.UploadPartInput{Bucket: &p.o.Bucket, Key: &key, UploadId: &id, PartNumber: aws.Int32(1),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ChecksumAlgorithm: types.ChecksumAlgorithm(alg)}
	upload.SetChecksumField(alg, &pin.ChecksumCRC32C, &pin.ChecksumCRC64NVME, alg.Sum(body))
	part, err := p.api.UploadPart(ctx, pin, plain)
	if err != nil {
		return key, nil, nil, nil, fmt.Errorf("upload part: %w", err)
	}
	parts, err = p.api.ListParts(ctx, &s3.ListPartsInput{Bucket: &p.o.Bucket, Key: &key, UploadId: &id}, plain)
	if err != nil {
		return key, nil, nil, nil, fmt.Errorf("list parts: %w", err)
	}
	done := types.CompletedPart{PartNumber: aws.Int32(1), ETag: part.ETag}
	upload.SetChecksumField(alg, &done.ChecksumCRC32C, &done.ChecksumCRC64NVME, upload.ChecksumField(alg, part.ChecksumCRC32C, part.ChecksumCRC64NVME))
	if upload.ChecksumField(alg, done.ChecksumCRC32C, done.ChecksumCRC64NVME) == "" {
		upload.SetChecksumField(alg, &done.ChecksumCRC32C, &done.ChecksumCRC64NVME, alg.Sum(body))
	}
	fin := &s3.CompleteMultipartUploadInput{Bucket: &p.o.Bucket, Key: &key, UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{done}}, ChecksumType: types.ChecksumTypeFullObject}
	upload.SetChecksumField(alg, &fin.ChecksumCRC32C, &fin.ChecksumCRC64NVME, sum)
	out, completeErr = p.api.CompleteMultipartUpload(ctx, fin, plain)
	if completeErr == nil {
		p.created[len(p.created)-1].version = aws.ToString(out.VersionId)
	}
	return key, parts, out, completeErr, nil
}

// fullObject stores a multipart object with alg's right full-object
// checksum and checks what HeadObject reports; it also says whether
// ListParts listed the part's checksum.
func (p *prober) fullObject(ctx context.Context, alg checksum.Algorithm) (full, partSums Check) {
	want := alg.Sum(body)
	key, parts, _, completeErr, err := p.multipart(ctx, alg, want, "full-"+string(alg))
	if err != nil {
		if refused(err) {
			return no("%s refused: %s", alg, brief(err)), Check{Result: Skipped, Detail: "no multipart upload with checksums"}
		}
		return unknown(err), unknown(err)
	}
	partSums = no("ListParts lists no %s for parts", alg)
	if len(parts.Parts) == 1 && upload.ChecksumField(alg, parts.Parts[0].ChecksumCRC32C, parts.Parts[0].ChecksumCRC64NVME) != "" {
		partSums = yes("ListParts lists each part's %s", alg)
	}
	if completeErr != nil {
		if refused(completeErr) {
			return no("a full-object %s upload with the right checksum was refused: %s", alg, brief(completeErr)), partSums
		}
		return unknown(completeErr), partSums
	}
	head, err := p.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &p.o.Bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled}, plain)
	if err != nil {
		return unknown(fmt.Errorf("head: %w", err)), partSums
	}
	got := upload.ChecksumField(alg, head.ChecksumCRC32C, head.ChecksumCRC64NVME)
	switch {
	case got == "":
		return no("HeadObject reports no %s", alg), partSums
	case head.ChecksumType == types.ChecksumTypeComposite || strings.Contains(got, "-"):
		return no("the store made a composite %s (%s)", alg, got), partSums
	case got != want:
		return no("HeadObject reports %s %s, the bytes have %s", alg, got, want), partSums
	}
	return yes("stored and reported (%s)", got), partSums
}

// wrongFullObject completes a multipart upload with a wrong full-object
// checksum of the configured algorithm.
func (p *prober) wrongFullObject(ctx context.Context) Check {
	alg := p.o.Checksum
	_, _, _, completeErr, err := p.multipart(ctx, alg, wrong(alg), "wrong-full-"+string(alg))
	if err != nil {
		if refused(err) {
			return no("no multipart upload with %s at all: %s", alg, brief(err))
		}
		return unknown(err)
	}
	if completeErr == nil {
		return no("a wrong full-object %s was accepted", alg)
	}
	if refused(completeErr) {
		return yes("refused: %s", brief(completeErr))
	}
	return unknown(completeErr)
}

// wrongPut stores a single object with a wrong checksum header.
func (p *prober) wrongPut(ctx context.Context) Check {
	alg := p.o.Checksum
	key := p.key("wrong-put")
	in := &s3.PutObjectInput{Bucket: &p.o.Bucket, Key: &key, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ChecksumAlgorithm: types.ChecksumAlgorithm(alg)}
	upload.SetChecksumField(alg, &in.ChecksumCRC32C, &in.ChecksumCRC64NVME, wrong(alg))
	out, err := p.api.PutObject(ctx, in, plain)
	if err == nil {
		p.created = append(p.created, created{key: key, version: aws.ToString(out.VersionId)})
		return no("a PutObject with a wrong %s was accepted", alg)
	}
	if refused(err) {
		return yes("refused: %s%s", brief(err), p.stray(ctx, key))
	}
	return unknown(err)
}

// stray looks for an object a store refused yet stored (gofakes3 on disk
// does this), so that it is removed too, and says so.
func (p *prober) stray(ctx context.Context, key string) string {
	head, err := p.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &p.o.Bucket, Key: &key}, plain)
	var re *awshttp.ResponseError
	switch {
	case err == nil:
		p.created = append(p.created, created{key: key, version: aws.ToString(head.VersionId)})
	case errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound:
		return "" // not stored, as it should be
	default:
		// Something is there that the store cannot even describe (gofakes3
		// on disk: data without metadata): delete it by key.
		p.created = append(p.created, created{key: key})
	}
	return ", but the store kept the refused object"
}

// md5 checks that a wrong Content-MD5 is refused and that ETags are MD5s
// (single object and one-part multipart), with the configured encryption.
func (p *prober) md5(ctx context.Context) (checked, etags Check) {
	key := p.key("md5")
	bad := md5.Sum([]byte("not the body"))
	in := &s3.PutObjectInput{Bucket: &p.o.Bucket, Key: &key, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(bad[:]))}
	p.sseHeaders(in)
	out, err := p.api.PutObject(ctx, in, plain)
	switch {
	case err == nil:
		p.created = append(p.created, created{key: key, version: aws.ToString(out.VersionId)})
		checked = no("a wrong Content-MD5 was accepted")
	case refused(err):
		checked = yes("refused: %s%s", brief(err), p.stray(ctx, key))
	default:
		return unknown(err), unknown(err)
	}
	sum := md5.Sum(body)
	key = p.key("md5-single")
	in = &s3.PutObjectInput{Bucket: &p.o.Bucket, Key: &key, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))}
	p.sseHeaders(in)
	out, err = p.api.PutObject(ctx, in, plain)
	if err != nil {
		return checked, unknown(fmt.Errorf("put with Content-MD5: %w", err))
	}
	p.created = append(p.created, created{key: key, version: aws.ToString(out.VersionId)})
	if got := strings.Trim(aws.ToString(out.ETag), `"`); got != hex.EncodeToString(sum[:]) {
		return checked, no("the ETag of a single object is %q, not its MD5", got)
	}
	key = p.key("md5-multipart")
	cin := &s3.CreateMultipartUploadInput{Bucket: &p.o.Bucket, Key: &key}
	p.sseHeaders(cin)
	c, err := p.api.CreateMultipartUpload(ctx, cin, plain)
	if err != nil {
		return checked, unknown(fmt.Errorf("create multipart upload: %w", err))
	}
	id := aws.ToString(c.UploadId)
	p.created = append(p.created, created{key: key, uploadID: id})
	part, err := p.api.UploadPart(ctx, &s3.UploadPartInput{Bucket: &p.o.Bucket, Key: &key, UploadId: &id, PartNumber: aws.Int32(1),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))}, plain)
	if err != nil {
		return checked, unknown(fmt.Errorf("upload part: %w", err))
	}
	done, err := p.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &p.o.Bucket, Key: &key, UploadId: &id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}, plain)
	if err != nil {
		return checked, unknown(fmt.Errorf("complete multipart upload: %w", err))
	}
	p.created[len(p.created)-1].version = aws.ToString(done.VersionId)
	outer := md5.Sum(sum[:])
	want := hex.EncodeToString(outer[:]) + "-1"
	head, err := p.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &p.o.Bucket, Key: &key}, plain)
	if err != nil {
		return checked, unknown(fmt.Errorf("head: %w", err))
	}
	if got := strings.Trim(aws.ToString(head.ETag), `"`); got != want {
		return checked, no("the ETag of a multipart object is %q, not the MD5 of its part MD5s (%s)", got, want)
	}
	return checked, yes("MD5 of the body, and of the part MD5s for multipart")
}

func (p *prober) versioning(ctx context.Context) Check {
	out, err := p.api.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &p.o.Bucket}, plain)
	if err != nil {
		return unknown(fmt.Errorf("get bucket versioning: %w", err))
	}
	switch out.Status {
	case types.BucketVersioningStatusEnabled:
		return yes("Enabled")
	case types.BucketVersioningStatusSuspended:
		return no("Suspended: an overwrite replaces a recording")
	}
	return no("never enabled: an overwrite replaces a recording")
}

func (p *prober) sse(ctx context.Context) Check {
	if p.o.SSE == upload.SSENone {
		return Check{Result: Skipped, Detail: "no encryption asked (--sse none)"}
	}
	key := p.key("sse")
	in := &s3.PutObjectInput{Bucket: &p.o.Bucket, Key: &key, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))}
	p.sseHeaders(in)
	out, err := p.api.PutObject(ctx, in, plain)
	if err != nil {
		if refused(err) {
			return no("a PutObject with %s was refused: %s", p.o.SSE, brief(err))
		}
		return unknown(err)
	}
	p.created = append(p.created, created{key: key, version: aws.ToString(out.VersionId)})
	head, err := p.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &p.o.Bucket, Key: &key}, plain)
	if err != nil {
		return unknown(fmt.Errorf("head: %w", err))
	}
	if why := upload.EncryptionMismatch(p.o.SSE, p.o.KMSKeyID, head); why != "" {
		return no("%s", why)
	}
	return yes("%s reported back", head.ServerSideEncryption)
}

// cleanup removes every probe object (the exact versions) and aborts
// probe uploads; what cannot be removed is reported.
func (p *prober) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range p.created {
		if c.uploadID != "" && c.version == "" {
			_, _ = p.api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &p.o.Bucket, Key: aws.String(c.key), UploadId: aws.String(c.uploadID)}, plain)
		}
		in := &s3.DeleteObjectInput{Bucket: &p.o.Bucket, Key: aws.String(c.key)}
		if c.version != "" {
			in.VersionId = aws.String(c.version)
		}
		if _, err := p.api.DeleteObject(ctx, in, plain); err != nil && c.version != "" {
			// Without s3:DeleteObjectVersion a delete marker hides it; the
			// bucket's noncurrent-version rule removes it later.
			if _, err := p.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &p.o.Bucket, Key: aws.String(c.key)}, plain); err != nil {
				p.leftovers = append(p.leftovers, c.key)
			}
		}
	}
}

// refused reports a store's answer that rejects the request itself (a 4xx
// with an error code other than access or throttling), as opposed to a
// failure to ask.
func refused(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "NoSuchBucket",
		"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "ServiceUnavailable":
		return false
	}
	return !upload.IsCredentialError(err)
}

func brief(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return err.Error()
}

// wrong is a well-formed checksum of alg that is not the body's.
func wrong(alg checksum.Algorithm) string { return alg.Sum([]byte("not the body")) }
