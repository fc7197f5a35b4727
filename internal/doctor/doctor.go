// Package doctor checks, before the first meeting, that a configuration
// will upload recordings the way the operator believes: credentials, the
// bucket and its settings, what the store really verifies and encrypts (the
// store probe), the verification mode that follows, the clock, and room on
// the recordings volume. Each check ends ok, warn or fail; nothing is
// changed but the probe's own objects, which are removed.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/sys/unix"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/probe"
	"github.com/jitsi-recorder/jibri-s3/internal/units"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

// API is the part of the S3 client the doctor uses.
type API interface {
	probe.API
	HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	GetBucketEncryption(context.Context, *s3.GetBucketEncryptionInput, ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	GetBucketLifecycleConfiguration(context.Context, *s3.GetBucketLifecycleConfigurationInput, ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error)
}

var _ API = (*s3.Client)(nil)

// Outcomes of a check, from best to worst.
const (
	OK   = "ok"
	Warn = "warn"
	Fail = "fail"
)

// Result is one line of the report.
type Result struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Report is every result, and the probe's findings.
type Report struct {
	Bucket   string        `json:"bucket"`
	Endpoint string        `json:"endpoint,omitempty"`
	Results  []Result      `json:"results"`
	Probe    *probe.Report `json:"probe,omitempty"`
	Worst    string        `json:"worst"`
}

// Options are the settings under test.
type Options struct {
	Probe    probe.Options
	Endpoint string
	Verify   string // upload.VerifyAuto or a mode
	// SSEMismatchWarn: the operator accepts a store that does not encrypt
	// (--sse-mismatch warn); an ignored SSE is then a warning.
	SSEMismatchWarn bool
	Root            string // the recordings volume ("" skips the disk check)
	// Credentials, when set, is asked for the credentials in use (their
	// source and expiry).
	Credentials aws.CredentialsProvider
	Now         func() time.Time
}

// Thresholds of the checks.
const (
	SkewWarn      = time.Minute
	SkewFail      = 5 * time.Minute // S3 refuses requests 15 min off; a drifting clock gets there
	DiskFailBytes = 1 << 30
	DiskWarnBytes = 10 << 30
)

// Run makes every check. It returns an error only for a broken call
// (nil API); every finding, failures included, is in the report.
func Run(ctx context.Context, api API, o Options) Report {
	if o.Now == nil {
		o.Now = time.Now
	}
	bucket := o.Probe.Bucket
	r := Report{Bucket: bucket, Endpoint: o.Endpoint}
	add := func(check, status, format string, a ...any) {
		r.Results = append(r.Results, Result{check, status, fmt.Sprintf(format, a...)})
	}

	if o.Credentials != nil {
		c, err := o.Credentials.Retrieve(ctx)
		switch {
		case err != nil:
			add("credentials", Fail, "none found: %v", err)
		case c.CanExpire:
			add("credentials", OK, "%s, expire %s (renewed by the SDK)", c.Source, c.Expires.UTC().Format(time.RFC3339))
		default:
			add("credentials", OK, "%s, static", c.Source)
		}
	}

	head, err := api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		add("bucket", Fail, "%s: %s", bucket, explain(err))
		r.Worst = worst(r.Results)
		return r // nothing else can be checked
	}
	region := aws.ToString(head.BucketRegion)
	if region != "" {
		add("bucket", OK, "%s reachable (region %s)", bucket, region)
	} else {
		add("bucket", OK, "%s reachable", bucket)
	}
	if skew, ok := clockSkew(head.ResultMetadata, o.Now()); ok {
		abs := skew.Abs().Round(time.Second)
		switch {
		case abs >= SkewFail:
			add("clock", Fail, "this clock is %s off the store's (S3 refuses requests 15 min off): fix NTP", abs)
		case abs >= SkewWarn:
			add("clock", Warn, "this clock is %s off the store's", abs)
		default:
			add("clock", OK, "within %s of the store's", max(abs, time.Second))
		}
	} else {
		add("clock", Warn, "the store sent no Date header to compare with")
	}

	pr, perr := probe.Run(ctx, api, o.Probe)
	r.Probe = &pr
	switch pr.Versioning.Result {
	case probe.Yes:
		add("versioning", OK, "enabled: an overwritten or deleted recording keeps its earlier version")
	case probe.No:
		add("versioning", Warn, "%s; enable it (finalize relies on versions to never replace a recording)", pr.Versioning.Detail)
	default:
		add("versioning", Warn, "cannot tell: %s", pr.Versioning.Detail)
	}
	r.Results = append(r.Results, defaultEncryption(ctx, api, bucket))
	switch pr.SSE.Result {
	case probe.Yes:
		add("sse honoured", OK, "%s", pr.SSE.Detail)
	case probe.Skipped:
		add("sse honoured", Warn, "%s: recordings are stored as the bucket's default encryption says", pr.SSE.Detail)
	case probe.No:
		if o.SSEMismatchWarn {
			add("sse honoured", Warn, "%s; accepted by --sse-mismatch warn (manifests say so)", pr.SSE.Detail)
		} else {
			add("sse honoured", Fail, "%s: every upload would fail (--sse none, or --sse-mismatch warn to accept an unencrypted store)", pr.SSE.Detail)
		}
	default:
		add("sse honoured", Warn, "cannot tell: %s", pr.SSE.Detail)
	}
	alg := o.Probe.Checksum
	if alg == "" {
		alg = checksum.CRC32C
	}
	for _, c := range []struct {
		name string
		c    probe.Check
		bad  string // status when the answer is no
	}{
		{"full-object " + strings.ToLower(string(checksum.CRC32C)), pr.CRC32C, Warn},
		{"full-object " + strings.ToLower(string(checksum.CRC64NVME)), pr.CRC64NVME, Warn},
		{"wrong checksum refused", pr.WrongFullObjectRejected, Warn},
		{"part checksums listed", pr.PartChecksums, Warn},
		{"content-md5 checked", pr.ContentMD5Checked, Warn},
		{"md5 etags", pr.MD5ETags, Warn},
	} {
		switch c.c.Result {
		case probe.Yes:
			add(c.name, OK, "%s", c.c.Detail)
		case probe.Skipped:
			add(c.name, OK, "n/a: %s", c.c.Detail)
		case probe.No:
			add(c.name, c.bad, "%s", c.c.Detail)
		default:
			add(c.name, Fail, "cannot tell: %s", c.c.Detail)
		}
	}
	r.Results = append(r.Results, verifyMode(o.Verify, pr, perr, alg))
	r.Results = append(r.Results, lifecycle(ctx, api, bucket, o.Probe.Prefix))
	if o.Root != "" {
		r.Results = append(r.Results, disk(o.Root))
	}
	if len(pr.Leftovers) > 0 {
		add("probe cleanup", Warn, "could not remove %s (no s3:DeleteObject?)", strings.Join(pr.Leftovers, ", "))
	} else {
		add("probe cleanup", OK, "probe objects removed")
	}
	r.Worst = worst(r.Results)
	return r
}

// verifyMode says how uploads will be verified, and whether the
// configured mode can work on this store.
func verifyMode(mode string, pr probe.Report, perr error, alg checksum.Algorithm) Result {
	const name = "verify mode"
	if perr != nil {
		return Result{name, Fail, fmt.Sprintf("the probe cannot tell what the store verifies: %v", perr)}
	}
	switch mode {
	case upload.VerifyAuto, "":
		st := OK
		if pr.Mode == upload.VerifyReadback {
			st = Warn // works everywhere, but every byte is downloaded again
		}
		return Result{name, st, fmt.Sprintf("auto picks %s: %s", pr.Mode, pr.Why)}
	case upload.VerifyChecksum:
		full := pr.CRC32C
		if alg == checksum.CRC64NVME {
			full = pr.CRC64NVME
		}
		if !full.OK() {
			return Result{name, Fail, fmt.Sprintf("checksum: %s; every upload would fail verification and stay on disk (use --verify auto)", full.Detail)}
		}
		if !pr.WrongFullObjectRejected.OK() {
			return Result{name, Fail, fmt.Sprintf("checksum: the store reports checksums but %s, so its report proves nothing (use --verify auto)", pr.WrongFullObjectRejected.Detail)}
		}
		return Result{name, OK, "checksum: the store verifies full-object checksums"}
	case upload.VerifyETag:
		if !pr.MD5ETags.OK() || !pr.ContentMD5Checked.OK() {
			return Result{name, Fail, fmt.Sprintf("etag: %s (use --verify auto)", firstBad(pr.MD5ETags, pr.ContentMD5Checked))}
		}
		return Result{name, OK, "etag: Content-MD5 is checked and ETags are MD5s"}
	case upload.VerifyReadback:
		return Result{name, Warn, "readback: works on any store; every recording is downloaded once more"}
	}
	return Result{name, Fail, fmt.Sprintf("unknown mode %q", mode)}
}

func firstBad(cs ...probe.Check) string {
	for _, c := range cs {
		if !c.OK() {
			return c.Detail
		}
	}
	return ""
}

func defaultEncryption(ctx context.Context, api API, bucket string) Result {
	const name = "default encryption"
	out, err := api.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ServerSideEncryptionConfigurationNotFoundError" {
			return Result{name, Warn, "none: objects are encrypted only as each upload asks (--sse)"}
		}
		return Result{name, Warn, "cannot tell: " + explain(err)}
	}
	var algs []string
	if out.ServerSideEncryptionConfiguration != nil {
		for _, r := range out.ServerSideEncryptionConfiguration.Rules {
			if d := r.ApplyServerSideEncryptionByDefault; d != nil {
				a := string(d.SSEAlgorithm)
				if k := aws.ToString(d.KMSMasterKeyID); k != "" {
					a += " (" + k + ")"
				}
				algs = append(algs, a)
			}
		}
	}
	if len(algs) == 0 {
		return Result{name, Warn, "no default rule"}
	}
	return Result{name, OK, strings.Join(algs, ", ")}
}

// lifecycle looks for an enabled rule that aborts incomplete multipart
// uploads under prefix: without one, the parts of recordings abandoned
// mid-upload are billed forever.
func lifecycle(ctx context.Context, api API, bucket, prefix string) Result {
	const name = "lifecycle"
	out, err := api.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(bucket)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchLifecycleConfiguration" {
			return Result{name, Warn, "no lifecycle rules: parts of abandoned uploads stay (and are billed); add AbortIncompleteMultipartUpload"}
		}
		return Result{name, Warn, "cannot tell: " + explain(err)}
	}
	if id, days, ok := abortRule(out.Rules, prefix); ok {
		return Result{name, OK, fmt.Sprintf("rule %q aborts incomplete uploads after %d days", id, days)}
	}
	return Result{name, Warn, "no enabled rule aborts incomplete multipart uploads under " + prefix + " (MinIO drops the action and expires stale uploads itself)"}
}

// abortRule finds an enabled rule that aborts incomplete multipart uploads
// of keys under prefix.
func abortRule(rules []types.LifecycleRule, prefix string) (id string, days int32, ok bool) {
	for _, r := range rules {
		if r.Status != types.ExpirationStatusEnabled || r.AbortIncompleteMultipartUpload == nil {
			continue
		}
		if p := rulePrefix(r); strings.HasPrefix(strings.TrimSuffix(prefix, "/")+"/", p) {
			return aws.ToString(r.ID), aws.ToInt32(r.AbortIncompleteMultipartUpload.DaysAfterInitiation), true
		}
	}
	return "", 0, false
}

func rulePrefix(r types.LifecycleRule) string {
	if r.Filter != nil {
		if r.Filter.Prefix != nil {
			return aws.ToString(r.Filter.Prefix)
		}
		if r.Filter.And != nil {
			return aws.ToString(r.Filter.And.Prefix)
		}
		return ""
	}
	return aws.ToString(r.Prefix) //nolint:staticcheck // the deprecated field is what older stores return
}

func disk(root string) Result {
	const name = "recordings volume"
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return Result{name, Fail, fmt.Sprintf("%s: %v", root, err)}
	}
	free := int64(st.Bavail) * st.Bsize
	total := int64(st.Blocks) * st.Bsize
	detail := fmt.Sprintf("%s: %s free of %s", root, units.Bytes(free), units.Bytes(total))
	switch {
	case free < DiskFailBytes:
		return Result{name, Fail, detail + " (under 1 GiB: a recording fills it in minutes)"}
	case free < DiskWarnBytes:
		return Result{name, Warn, detail + " (under 10 GiB: a few hours of recordings)"}
	}
	return Result{name, OK, detail}
}

// clockSkew compares the Date header of a response with now.
func clockSkew(md middleware.Metadata, now time.Time) (time.Duration, bool) {
	raw, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if !ok || raw == nil {
		return 0, false
	}
	d, err := http.ParseTime(raw.Header.Get("Date"))
	if err != nil {
		return 0, false
	}
	return now.Sub(d), true
}

func explain(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if h := upload.Hint(err); h != "" {
			return ae.ErrorCode() + ": " + h
		}
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

func worst(rs []Result) string {
	w := OK
	for _, r := range rs {
		if r.Status == Fail {
			return Fail
		}
		if r.Status == Warn {
			w = Warn
		}
	}
	return w
}
