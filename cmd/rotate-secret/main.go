// Command rotate-secret is the AWS Lambda function (runtime provided.al2023,
// handler bootstrap) that rotates the stack's Secrets Manager secret of XMPP
// passwords and restarts the ECS services that read it; see package
// internal/rotation for the steps.
//
// Environment: ECS_CLUSTER (required), ECS_SERVICES (required,
// comma-separated, restarted in this order: core first), SECRET_KEYS and
// SECRET_KEEP_KEYS (optional), LOG_LEVEL (default info). Region and
// credentials come from the Lambda environment (the SDK's default chain).
//
// It logs JSON lines to stdout (CloudWatch Logs); it never logs a value.
// Exit code 1: the configuration is invalid (reported before the first
// invocation, so every rotation fails until it is fixed).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/jitsi-recorder/jibri-s3/internal/logging"
	"github.com/jitsi-recorder/jibri-s3/internal/rotation"
	"github.com/jitsi-recorder/jibri-s3/internal/version"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout, lambda.Start); err != nil {
		fmt.Fprintf(os.Stderr, "rotate-secret: %v\n", err)
		os.Exit(1)
	}
}

// run builds the handler and gives it to start (lambda.Start, which serves
// invocations until the sandbox ends and does not return).
func run(ctx context.Context, getenv func(string) string, stdout io.Writer, start func(any)) error {
	level := getenv("LOG_LEVEL")
	if level == "" {
		level = "info"
	}
	log, err := logging.New(stdout, "json", level, "rotate-secret")
	if err != nil {
		return fmt.Errorf("%w (set LOG_LEVEL)", err)
	}
	cfg, err := rotation.ConfigFromEnv(getenv)
	if err != nil {
		log.Error().Err(err).Msg("invalid configuration")
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		// No client-side token bucket: it runs dry exactly when the service is struggling.
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxBackoff = 5 * time.Second
			o.RateLimiter = ratelimit.None
		})
	}))
	if err != nil {
		return fmt.Errorf("cannot load AWS configuration: %w", err)
	}
	log.Info().Str("version", version.Version).Str("cluster", cfg.Cluster).Strs("services", cfg.Services).Msg("ready")
	r := rotation.New(secretsmanager.NewFromConfig(awsCfg), ecs.NewFromConfig(awsCfg), cfg, log)
	start(r.Handle)
	return nil
}
