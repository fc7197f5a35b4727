// Package config reads finalize's configuration: defaults, then environment
// variables with the JIBRI_UPLOAD_ prefix (derived from the flag names, see
// ApplyEnv), then command-line flags. AWS
// credentials never pass through here: they come from the SDK's default
// chain (task role, environment, profile).
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/keytmpl"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

// EnvPrefix prefixes every environment variable.
const EnvPrefix = "JIBRI_UPLOAD_"

// Config holds every setting.
type Config struct {
	Bucket       string
	Prefix       string
	KeyTemplate  string
	Region       string
	Endpoint     string
	PathStyle    bool
	CABundle     string
	PartSizeMiB  int64
	Concurrency  int
	Checksum     string
	SSE          string
	KMSKeyID     string
	SSEMismatch  string
	Verify       string
	Tags         string
	StorageClass string
	Faststart    bool

	Deadline    time.Duration
	Attempts    int
	RetryBase   time.Duration
	RetryMax    time.Duration
	SDKAttempts int
	IOTimeout   time.Duration
	Keep        bool
	Force       bool
	Hold        string
	MetricsFile string
	Namespace   string
	Environment string
	LogFormat   string
	LogLevel    string
	Events      Events // webhooks (events.go)

	// Derived by Validate.
	HoldAuto     bool          // hand off after DefaultHold when a live watcher is found
	HoldDuration time.Duration // a fixed hold (0: never hand off)
	Template     *keytmpl.Template
	Algorithm    checksum.Algorithm
	SSEMode      string
	VerifyMode   string // upload.VerifyAuto or a mode
	TagMap       map[string]string
	// ProbeCache is where --verify auto keeps what it found (set by the
	// command from the recordings root; "" keeps it in memory only).
	ProbeCache string
}

// DefaultHold is how long the hook holds Jibri with --hold auto and a live
// watcher: enough for a short recording to finish, short enough for the
// moderator's "stop recording" to come back at once.
const DefaultHold = 20 * time.Second

// Defaults returns the built-in configuration.
func Defaults() Config {
	return Config{
		Prefix:      "recordings",
		KeyTemplate: keytmpl.Default,
		PartSizeMiB: 16,
		Concurrency: 4,
		Checksum:    "crc32c",
		SSE:         "aes256",
		Deadline:    10 * time.Minute,
		Attempts:    4,
		RetryBase:   2 * time.Second,
		RetryMax:    30 * time.Second,
		SDKAttempts: 5,
		IOTimeout:   60 * time.Second,
		MetricsFile: "auto",
		Namespace:   "Jitsi/Recordings",
		Environment: "default",
		LogFormat:   "auto",
		LogLevel:    "info",
		Hold:        "auto",
		SSEMismatch: "fail",
		Faststart:   true,
		Verify:      upload.VerifyAuto,
		Events:      DefaultEvents(),
	}
}

// Bind registers the flags on fs with defaults taken from c. ApplyEnv then
// sets them from the environment.
func (c *Config) Bind(fs *flag.FlagSet) {
	fs.StringVar(&c.Bucket, "bucket", c.Bucket, "S3 bucket (required)")
	fs.StringVar(&c.Prefix, "prefix", c.Prefix, "key prefix, the {prefix} of the template")
	fs.StringVar(&c.KeyTemplate, "key-template", c.KeyTemplate, "object key template; placeholders {prefix} {yyyy} {mm} {dd} {hh} {tenant} {room} {session} {file}")
	fs.StringVar(&c.Region, "region", c.Region, "AWS region (default: the SDK's, e.g. $AWS_REGION)")
	fs.StringVar(&c.Endpoint, "endpoint", c.Endpoint, "custom S3 endpoint URL for MinIO, Ceph, R2...")
	fs.BoolVar(&c.PathStyle, "path-style", c.PathStyle, "path-style addressing (needed by most S3-compatible stores)")
	fs.StringVar(&c.CABundle, "ca-bundle", c.CABundle, "PEM CA certificates to trust for the endpoint, instead of the system roots")
	fs.Int64Var(&c.PartSizeMiB, "part-size", c.PartSizeMiB, "multipart part size in MiB (5..5120)")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "parts uploaded in parallel (1..64)")
	fs.StringVar(&c.Checksum, "checksum", c.Checksum, "full-object checksum: crc32c or crc64nvme")
	fs.StringVar(&c.SSE, "sse", c.SSE, "server-side encryption: aes256 (SSE-S3), aws:kms (SSE-KMS) or none")
	fs.StringVar(&c.SSEMismatch, "sse-mismatch", c.SSEMismatch, "a store that reports another encryption than asked: fail (files kept) or warn (commit, and say so in the log and the manifest)")
	fs.StringVar(&c.Verify, "verify", c.Verify, "how S3 is proven to hold the bytes: auto (probe the store once a day and pick), checksum (full-object CRC that S3 verifies), etag (Content-MD5 on every part, MD5 ETags compared) or readback (read the object back and compare; costs download traffic)")
	fs.StringVar(&c.KMSKeyID, "kms-key-id", c.KMSKeyID, "KMS key id or ARN for --sse aws:kms (default: the bucket's key)")
	fs.StringVar(&c.Tags, "tags", c.Tags, "object tags, k=v,k2=v2")
	fs.StringVar(&c.StorageClass, "storage-class", c.StorageClass, "S3 storage class (default: the bucket's)")
	fs.BoolVar(&c.Faststart, "faststart", c.Faststart, "store an .mp4 whose index (moov) follows its media with the index first, so it plays from its first bytes (rearranged while uploading, no copy on disk); --faststart=false stores files as written")
	fs.DurationVar(&c.Deadline, "deadline", c.Deadline, "whole-run deadline; on expiry files are kept and marked for the watcher")
	fs.IntVar(&c.Attempts, "attempts", c.Attempts, "upload attempts per run, with backoff and jitter")
	fs.DurationVar(&c.RetryBase, "retry-base", c.RetryBase, "first backoff delay")
	fs.DurationVar(&c.RetryMax, "retry-max", c.RetryMax, "longest backoff delay")
	fs.IntVar(&c.SDKAttempts, "sdk-attempts", c.SDKAttempts, "attempts per S3 request inside the SDK")
	fs.DurationVar(&c.IOTimeout, "io-timeout", c.IOTimeout, "longest a connection may make no progress in either direction before the request is retried (a stall)")
	fs.BoolVar(&c.Keep, "keep", c.Keep, "upload, verify and commit, but keep the local files")
	fs.StringVar(&c.Hold, "hold", c.Hold, "give Jibri back within this time: an upload not committed by then is handed to the live recwatch (auto: 20s; a duration; 0: never). Without a live recwatch there is no hand-off")
	fs.BoolVar(&c.Force, "force", c.Force, "accept a directory that does not look like a Jibri recording")
	fs.StringVar(&c.MetricsFile, "metrics-file", c.MetricsFile, "EMF metrics spool: auto (<recordings root>/.finalize-metrics/emf.jsonl), a path, or none")
	fs.StringVar(&c.Namespace, "metrics-namespace", c.Namespace, "CloudWatch namespace")
	fs.StringVar(&c.Environment, "environment", c.Environment, "Environment dimension of the metrics")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "auto (console on a terminal, else JSON), json or console")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	c.Events.bind(fs)
}

// Validate checks the configuration and fills the derived fields.
func (c *Config) Validate() error {
	var errs []error
	if c.Bucket == "" {
		errs = append(errs, errors.New("no bucket: set --bucket or JIBRI_UPLOAD_BUCKET"))
	}
	t, err := keytmpl.Parse(c.KeyTemplate)
	if err != nil {
		errs = append(errs, err)
	}
	c.Template = t
	if c.PartSizeMiB < 5 || c.PartSizeMiB > 5120 {
		errs = append(errs, fmt.Errorf("part size %d MiB is outside 5..5120", c.PartSizeMiB))
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		errs = append(errs, fmt.Errorf("concurrency %d is outside 1..64", c.Concurrency))
	}
	if c.Algorithm, err = checksum.ParseAlgorithm(c.Checksum); err != nil {
		errs = append(errs, err)
	}
	if c.SSEMode, err = upload.ParseSSE(c.SSE); err != nil {
		errs = append(errs, err)
	}
	if c.VerifyMode, err = upload.ParseVerify(c.Verify); err != nil {
		errs = append(errs, err)
	}
	if c.SSEMismatch != "fail" && c.SSEMismatch != "warn" {
		errs = append(errs, fmt.Errorf("sse-mismatch %q: want fail or warn", c.SSEMismatch))
	}
	if c.KMSKeyID != "" && c.SSEMode != upload.SSEKMS {
		errs = append(errs, errors.New("a KMS key id needs --sse aws:kms"))
	}
	c.TagMap = map[string]string{}
	if c.Tags != "" {
		for _, kv := range strings.Split(c.Tags, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				errs = append(errs, fmt.Errorf("tag %q: want key=value", kv))
				continue
			}
			c.TagMap[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	switch c.Hold {
	case "auto", "":
		c.HoldAuto, c.HoldDuration = true, 0
	default:
		d, err := time.ParseDuration(c.Hold)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("hold %q: want auto, 0 or a duration such as 20s", c.Hold))
		}
		c.HoldAuto, c.HoldDuration = false, d
	}
	if c.Deadline <= 0 {
		errs = append(errs, errors.New("deadline must be positive"))
	}
	if c.Attempts < 1 {
		errs = append(errs, errors.New("attempts must be at least 1"))
	}
	if c.RetryBase <= 0 || c.RetryMax < c.RetryBase {
		errs = append(errs, errors.New("retry delays must satisfy 0 < retry-base <= retry-max"))
	}
	if c.CABundle != "" {
		if _, err := os.Stat(c.CABundle); err != nil {
			errs = append(errs, fmt.Errorf("ca bundle: %w", err))
		}
	}
	errs = append(errs, c.Events.validate()...)
	return errors.Join(errs...)
}
