// Package config reads finalize's configuration: defaults, then environment
// variables with the JIBRI_UPLOAD_ prefix, then command-line flags. AWS
// credentials never pass through here: they come from the SDK's default
// chain (task role, environment, profile).
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
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
	Tags         string
	StorageClass string

	Deadline    time.Duration
	Attempts    int
	RetryBase   time.Duration
	RetryMax    time.Duration
	SDKAttempts int
	IOTimeout   time.Duration
	Keep        bool
	Force       bool
	MetricsFile string
	Namespace   string
	Environment string
	LogFormat   string
	LogLevel    string

	// Derived by Validate.
	Template  *keytmpl.Template
	Algorithm checksum.Algorithm
	SSEMode   string
	TagMap    map[string]string
}

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
	}
}

// Bind registers the flags on fs with defaults taken from c (which should
// already hold the environment's values, see FromEnv).
func (c *Config) Bind(fs *flag.FlagSet) {
	fs.StringVar(&c.Bucket, "bucket", c.Bucket, "S3 bucket (required) [$JIBRI_UPLOAD_BUCKET]")
	fs.StringVar(&c.Prefix, "prefix", c.Prefix, "key prefix, the {prefix} of the template [$JIBRI_UPLOAD_PREFIX]")
	fs.StringVar(&c.KeyTemplate, "key-template", c.KeyTemplate, "object key template; placeholders {prefix} {yyyy} {mm} {dd} {hh} {tenant} {room} {session} {file} [$JIBRI_UPLOAD_KEY_TEMPLATE]")
	fs.StringVar(&c.Region, "region", c.Region, "AWS region (default: the SDK's, e.g. $AWS_REGION) [$JIBRI_UPLOAD_REGION]")
	fs.StringVar(&c.Endpoint, "endpoint", c.Endpoint, "custom S3 endpoint URL for MinIO, Ceph, R2... [$JIBRI_UPLOAD_ENDPOINT]")
	fs.BoolVar(&c.PathStyle, "path-style", c.PathStyle, "path-style addressing (needed by most S3-compatible stores) [$JIBRI_UPLOAD_PATH_STYLE]")
	fs.StringVar(&c.CABundle, "ca-bundle", c.CABundle, "PEM CA certificates to trust for the endpoint, instead of the system roots [$JIBRI_UPLOAD_CA_BUNDLE]")
	fs.Int64Var(&c.PartSizeMiB, "part-size", c.PartSizeMiB, "multipart part size in MiB (5..5120) [$JIBRI_UPLOAD_PART_SIZE]")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "parts uploaded in parallel (1..64) [$JIBRI_UPLOAD_CONCURRENCY]")
	fs.StringVar(&c.Checksum, "checksum", c.Checksum, "full-object checksum: crc32c or crc64nvme [$JIBRI_UPLOAD_CHECKSUM]")
	fs.StringVar(&c.SSE, "sse", c.SSE, "server-side encryption: aes256 (SSE-S3), aws:kms (SSE-KMS) or none [$JIBRI_UPLOAD_SSE]")
	fs.StringVar(&c.KMSKeyID, "kms-key-id", c.KMSKeyID, "KMS key id or ARN for --sse aws:kms (default: the bucket's key) [$JIBRI_UPLOAD_KMS_KEY_ID]")
	fs.StringVar(&c.Tags, "tags", c.Tags, "object tags, k=v,k2=v2 [$JIBRI_UPLOAD_TAGS]")
	fs.StringVar(&c.StorageClass, "storage-class", c.StorageClass, "S3 storage class (default: the bucket's) [$JIBRI_UPLOAD_STORAGE_CLASS]")
	fs.DurationVar(&c.Deadline, "deadline", c.Deadline, "whole-run deadline; on expiry files are kept and marked for the watcher [$JIBRI_UPLOAD_DEADLINE]")
	fs.IntVar(&c.Attempts, "attempts", c.Attempts, "upload attempts per run, with backoff and jitter [$JIBRI_UPLOAD_ATTEMPTS]")
	fs.DurationVar(&c.RetryBase, "retry-base", c.RetryBase, "first backoff delay [$JIBRI_UPLOAD_RETRY_BASE]")
	fs.DurationVar(&c.RetryMax, "retry-max", c.RetryMax, "longest backoff delay [$JIBRI_UPLOAD_RETRY_MAX]")
	fs.IntVar(&c.SDKAttempts, "sdk-attempts", c.SDKAttempts, "attempts per S3 request inside the SDK [$JIBRI_UPLOAD_SDK_ATTEMPTS]")
	fs.DurationVar(&c.IOTimeout, "io-timeout", c.IOTimeout, "longest a single network read or write may stall before the request is retried [$JIBRI_UPLOAD_IO_TIMEOUT]")
	fs.BoolVar(&c.Keep, "keep", c.Keep, "upload, verify and commit, but keep the local files [$JIBRI_UPLOAD_KEEP]")
	fs.BoolVar(&c.Force, "force", c.Force, "accept a directory that does not look like a Jibri recording [$JIBRI_UPLOAD_FORCE]")
	fs.StringVar(&c.MetricsFile, "metrics-file", c.MetricsFile, "EMF metrics spool: auto (<recordings root>/.finalize-metrics/emf.jsonl), a path, or none [$JIBRI_UPLOAD_METRICS_FILE]")
	fs.StringVar(&c.Namespace, "metrics-namespace", c.Namespace, "CloudWatch namespace [$JIBRI_UPLOAD_METRICS_NAMESPACE]")
	fs.StringVar(&c.Environment, "environment", c.Environment, "Environment dimension of the metrics [$JIBRI_UPLOAD_ENVIRONMENT]")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "auto (console on a terminal, else JSON), json or console [$JIBRI_UPLOAD_LOG_FORMAT]")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error [$JIBRI_UPLOAD_LOG_LEVEL]")
}

// FromEnv applies JIBRI_UPLOAD_* variables over c. getenv is os.Getenv in
// production.
func (c *Config) FromEnv(getenv func(string) string) error {
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(EnvPrefix + name); v != "" {
			*dst = v
		}
	}
	boolean := func(name string, dst *bool) {
		if v := getenv(EnvPrefix + name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s: %q is not a boolean", EnvPrefix, name, v))
				return
			}
			*dst = b
		}
	}
	integer := func(name string, dst *int) {
		if v := getenv(EnvPrefix + name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s: %q is not a number", EnvPrefix, name, v))
				return
			}
			*dst = n
		}
	}
	duration := func(name string, dst *time.Duration) {
		if v := getenv(EnvPrefix + name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s: %q is not a duration (e.g. 5m)", EnvPrefix, name, v))
				return
			}
			*dst = d
		}
	}
	str("BUCKET", &c.Bucket)
	str("PREFIX", &c.Prefix)
	str("KEY_TEMPLATE", &c.KeyTemplate)
	str("REGION", &c.Region)
	str("ENDPOINT", &c.Endpoint)
	boolean("PATH_STYLE", &c.PathStyle)
	str("CA_BUNDLE", &c.CABundle)
	if v := getenv(EnvPrefix + "PART_SIZE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%sPART_SIZE: %q is not a number of MiB", EnvPrefix, v))
		}
		c.PartSizeMiB = n
	}
	integer("CONCURRENCY", &c.Concurrency)
	str("CHECKSUM", &c.Checksum)
	str("SSE", &c.SSE)
	str("KMS_KEY_ID", &c.KMSKeyID)
	str("TAGS", &c.Tags)
	str("STORAGE_CLASS", &c.StorageClass)
	duration("DEADLINE", &c.Deadline)
	integer("ATTEMPTS", &c.Attempts)
	duration("RETRY_BASE", &c.RetryBase)
	duration("RETRY_MAX", &c.RetryMax)
	integer("SDK_ATTEMPTS", &c.SDKAttempts)
	duration("IO_TIMEOUT", &c.IOTimeout)
	boolean("KEEP", &c.Keep)
	boolean("FORCE", &c.Force)
	str("METRICS_FILE", &c.MetricsFile)
	str("METRICS_NAMESPACE", &c.Namespace)
	str("ENVIRONMENT", &c.Environment)
	str("LOG_FORMAT", &c.LogFormat)
	str("LOG_LEVEL", &c.LogLevel)
	return errors.Join(errs...)
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
	switch strings.ToLower(c.SSE) {
	case "aes256", "sse-s3", "s3":
		c.SSEMode = upload.SSES3
	case "aws:kms", "kms", "sse-kms":
		c.SSEMode = upload.SSEKMS
	case "none", "":
		c.SSEMode = upload.SSENone
	default:
		errs = append(errs, fmt.Errorf("sse %q: want aes256, aws:kms or none", c.SSE))
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
	return errors.Join(errs...)
}
