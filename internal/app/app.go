// Package app wires a validated configuration into the pipeline both
// binaries run: the S3 client, the uploader and the finalize runner.
package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/config"
	"github.com/jitsi-recorder/jibri-s3/internal/failpoint"
	"github.com/jitsi-recorder/jibri-s3/internal/finalize"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/probe"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

// Pipeline is a ready-to-run finalize runner and its S3 client.
type Pipeline struct {
	Runner *finalize.Runner
	Client *s3.Client
	Bucket string
	Prefix string
}

// New builds the pipeline. conn may carry credentials (tests, demo); the
// endpoint settings come from cfg.
// getenv is read only for the test-only failpoint variable.
func New(ctx context.Context, cfg config.Config, conn s3conn.Options, log zerolog.Logger, sink metrics.Sink, source string, progress func(file string, done, total int64), getenv func(string) string) (*Pipeline, error) {
	conn.Region, conn.Endpoint, conn.PathStyle, conn.CABundle = cfg.Region, cfg.Endpoint, cfg.PathStyle, cfg.CABundle
	conn.MaxAttempts, conn.Connections, conn.IOTimeout = cfg.SDKAttempts, cfg.Concurrency*2, cfg.IOTimeout
	fp := failpoint.FromEnv(getenv)
	client, err := s3conn.New(ctx, conn)
	if err != nil {
		return nil, err
	}
	up := upload.New(client, upload.Options{
		Bucket: cfg.Bucket, PartSize: cfg.PartSizeMiB << 20, Concurrency: cfg.Concurrency, Checksum: cfg.Algorithm,
		SSE: cfg.SSEMode, KMSKeyID: cfg.KMSKeyID, SSEMismatchWarn: cfg.SSEMismatch == "warn", Tags: cfg.TagMap, StorageClass: cfg.StorageClass,
		Progress: progress, Failpoint: fp, Faststart: cfg.Faststart,
		Verify: cfg.VerifyMode, ResolveVerify: probe.Resolver(client, ProbeOptions(cfg), cfg.Endpoint, probe.Cache{Path: cfg.ProbeCache}, func(r probe.Report, err error) {
			if err != nil {
				log.Warn().Err(err).Msg("store probe failed: cannot choose how to verify uploads (--verify auto); the recording stays on disk, the next attempt probes again")
				return
			}
			log.Info().Str("verify", r.Mode).Str("why", r.Why).Str("bucket", r.Bucket).Msg("store probed: uploads are verified this way (--verify auto; cached for a day)")
		}),
	})
	runner := finalize.New(finalize.Config{
		Bucket: cfg.Bucket, Prefix: cfg.Prefix, Template: cfg.Template, SSE: cfg.SSEMode, KMSKeyID: cfg.KMSKeyID,
		Deadline: cfg.Deadline, Backoff: finalize.Backoff{Attempts: cfg.Attempts, Base: cfg.RetryBase, Max: cfg.RetryMax},
		Keep: cfg.Keep, Force: cfg.Force, Namespace: cfg.Namespace, Environment: cfg.Environment, Source: source,
		Hold: cfg.HoldDuration, Hook: source == "finalize", Events: events(cfg),
		Failpoint: fp,
	}, up, client, log, sink)
	return &Pipeline{Runner: runner, Client: client, Bucket: cfg.Bucket, Prefix: cfg.Prefix}, nil
}

// ProbeOptions are the settings the store probe checks: those uploads use.
func ProbeOptions(cfg config.Config) probe.Options {
	return probe.Options{Bucket: cfg.Bucket, Prefix: cfg.Prefix, Checksum: cfg.Algorithm, SSE: cfg.SSEMode, KMSKeyID: cfg.KMSKeyID}
}

// Probe checks that S3 answers for the bucket with the configured
// credentials. It needs no permission beyond the uploader's: a GET of a key
// that does not exist answers NoSuchKey (or AccessDenied without
// s3:ListBucket), which proves endpoint and bucket; unlike HEAD, GET
// responses carry an error code, so bad credentials are told apart.
func (p *Pipeline) Probe(ctx context.Context) error {
	out, err := p.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.Bucket), Key: aws.String(p.Prefix + "/.recwatch-readyz"), Range: aws.String("bytes=0-0")})
	if err == nil {
		out.Body.Close()
	}
	if upload.IsPermanent(err) && upload.Hint(err) != "" && !errors.Is(err, context.Canceled) {
		var api interface{ ErrorCode() string }
		if errors.As(err, &api) && api.ErrorCode() != "AccessDenied" {
			return err // no such bucket, bad credentials...
		}
	}
	var re *awshttp.ResponseError
	if err == nil || errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusNotFound || re.HTTPStatusCode() == http.StatusForbidden) && !upload.IsCredentialError(err) {
		return nil
	}
	return err
}
