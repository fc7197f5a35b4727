package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/secrets"
)

const secretsUsage = `usage: finalize secrets --secret-id ID [--dir DIR] [--keys K1,K2] [--overwrite]

Reads one AWS Secrets Manager secret (a JSON object, one key per environment
variable, e.g. JIBRI_XMPP_PASSWORD) and writes each key as a file in DIR, the
container environment of s6-overlay that the docker-jitsi-meet init scripts
read through with-contenv. For containers started outside ECS; on ECS the task
definition injects the same keys (secrets / valueFrom). Variables already set
in DIR are kept unless --overwrite. Nothing is written unless the whole secret
is valid. Values are never printed; only key names are.

Environment: JIBRI_SECRETS_ID, JIBRI_SECRETS_DIR, JIBRI_SECRETS_KEYS,
JIBRI_SECRETS_ENDPOINT; region and credentials from the SDK's default chain
(AWS_REGION, task or instance role).

Exit codes: 0 ok; 1 the secret could not be read or written; 2 usage error.

Flags:
`

// runSecrets is the "secrets" subcommand.
func runSecrets(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("finalize secrets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("secret-id", getenv("JIBRI_SECRETS_ID"), "secret name or ARN [$JIBRI_SECRETS_ID]")
	dir := fs.String("dir", envOr(getenv, "JIBRI_SECRETS_DIR", secrets.DefaultDir), "directory to write one file per variable into [$JIBRI_SECRETS_DIR]")
	keys := fs.String("keys", getenv("JIBRI_SECRETS_KEYS"), "comma-separated keys to write (default: all) [$JIBRI_SECRETS_KEYS]")
	region := fs.String("region", getenv("JIBRI_UPLOAD_REGION"), "AWS region (default: the SDK's) [$JIBRI_UPLOAD_REGION]")
	endpoint := fs.String("endpoint", getenv("JIBRI_SECRETS_ENDPOINT"), "custom Secrets Manager endpoint URL [$JIBRI_SECRETS_ENDPOINT]")
	overwrite := fs.Bool("overwrite", false, "replace variables already set in the directory")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if code, ok := parseFlags(fs, secretsUsage, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fail(stderr, exitUsage, fmt.Errorf("secrets: unexpected argument %q", fs.Arg(0)), "see finalize secrets --help")
	}
	if *id == "" {
		return fail(stderr, exitUsage, errors.New("secrets: no secret: set --secret-id or JIBRI_SECRETS_ID"), "see finalize secrets --help")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client, err := secrets.NewClient(ctx, secrets.ClientOptions{Region: *region, Endpoint: *endpoint})
	if err != nil {
		return fail(stderr, exitUsage, err, "set AWS_REGION (or --region)")
	}
	vals, err := secrets.Fetch(ctx, client, *id)
	if err == nil {
		vals, err = secrets.Select(vals, splitList(*keys))
	}
	if err != nil {
		h := "check the network and retry"
		if secrets.IsPermanent(err) {
			h = "check the secret id, its JSON, and that this role may read it (secretsmanager:GetSecretValue, kms:Decrypt)"
		}
		return fail(stderr, exitInternal, err, h)
	}
	res, err := secrets.WriteEnvDir(*dir, vals, *overwrite)
	if err != nil {
		return fail(stderr, exitInternal, err, "the directory must exist and be writable (s6-overlay creates it at start)")
	}
	fmt.Fprintln(stdout, res.Summary(*dir))
	return exitOK
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
