package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/app"
	"github.com/jitsi-recorder/jibri-s3/internal/config"
	"github.com/jitsi-recorder/jibri-s3/internal/doctor"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

const checkUsage = `usage: finalize check [--json] [--root DIR] [flags]

Checks, before the first meeting, that this configuration (the same flags
and JIBRI_UPLOAD_* variables as an upload) will upload recordings the way
you believe: credentials, the bucket, clock skew, versioning, the bucket's
default encryption, whether the store applies the encryption asked for,
what it really verifies (a probe stores a few small objects under
<prefix>/.finalize-probe/, some with a deliberately wrong checksum, and
removes them), the verification mode that follows (--verify), a lifecycle
rule for abandoned multipart uploads, and free space on the recordings
volume. Nothing else is changed.

Exit codes:
  0  every check passed
  1  internal error
  2  usage or configuration error
  3  warnings only: recordings will upload, not as recommended
  4  a check failed: recordings would not upload, or not as configured

Flags:
`

const (
	exitCheckWarn = 3
	exitCheckFail = 4
)

// runCheck is the "check" subcommand.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg := config.Defaults()
	fs := flag.NewFlagSet("finalize check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Bind(fs)
	if err := config.ApplyEnv(fs, getenv); err != nil {
		return fail(stderr, exitUsage, err, "fix the JIBRI_UPLOAD_* environment variables")
	}
	asJSON := fs.Bool("json", false, "print the report as JSON (for scripts)")
	root := fs.String("root", recordingsRoot(getenv), "recordings volume whose free space is checked (default $JIBRI_RECORDING_DIR or /storage/recordings; empty skips)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if code, ok := parseFlags(fs, checkUsage, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fail(stderr, exitUsage, fmt.Errorf("check: unexpected argument %q", fs.Arg(0)), "see finalize check --help")
	}
	if err := cfg.Validate(); err != nil {
		return fail(stderr, exitUsage, err, "see finalize check --help")
	}
	return check(ctx, cfg, s3conn.Options{}, *root, *asJSON, *timeout, stdout, stderr, getenv)
}

// check runs the doctor with a validated configuration; conn carries test
// credentials.
func check(ctx context.Context, cfg config.Config, conn s3conn.Options, root string, asJSON bool, timeout time.Duration, stdout, stderr io.Writer, getenv func(string) string) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := app.New(ctx, cfg, conn, zerolog.Nop(), metrics.Discard{}, "finalize", nil, getenv)
	if err != nil {
		return fail(stderr, exitUsage, err, "check the region, endpoint and CA bundle")
	}
	r := doctor.Run(ctx, p.Client, doctor.Options{
		Probe: app.ProbeOptions(cfg), Endpoint: cfg.Endpoint, Verify: cfg.VerifyMode,
		SSEMismatchWarn: cfg.SSEMismatch == "warn", Root: root, Credentials: p.Client.Options().Credentials,
	})
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fail(stderr, exitInternal, err, "")
		}
	} else if err := doctor.WriteTable(stdout, r); err != nil {
		return fail(stderr, exitInternal, err, "")
	}
	switch r.Worst {
	case doctor.OK:
		return exitOK
	case doctor.Warn:
		return exitCheckWarn
	}
	return exitCheckFail
}

// recordingsRoot is the recordings volume of this host: Jibri's
// JIBRI_RECORDING_DIR, else the docker-jitsi-meet default if it exists.
func recordingsRoot(getenv func(string) string) string {
	if v := getenv("JIBRI_RECORDING_DIR"); v != "" {
		return v
	}
	if fi, err := os.Stat("/storage/recordings"); err == nil && fi.IsDir() {
		return "/storage/recordings"
	}
	return ""
}
