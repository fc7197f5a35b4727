package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/app"
	"github.com/jitsi-recorder/jibri-s3/internal/config"
	"github.com/jitsi-recorder/jibri-s3/internal/finalize"
	"github.com/jitsi-recorder/jibri-s3/internal/logging"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/units"
	"github.com/jitsi-recorder/jibri-s3/internal/version"
)

// Exit codes, documented in usage.
const (
	exitOK       = 0
	exitInternal = 1
	exitUsage    = 2
	exitLocked   = 3
	exitUpload   = 4
	exitVerify   = 5
	exitCleanup  = 6
)

const usage = `usage: finalize [flags] <recording-dir>
       finalize demo [--dir DIR]
       finalize secrets --secret-id ID [--dir DIR]   (see finalize secrets --help)
       finalize link <manifest key | session id>   (fresh presigned links; see finalize link --help)
       finalize check [--json]   (before the first meeting: will this configuration upload and verify? see finalize check --help)
       finalize version

Uploads a Jibri recording directory to S3 (multipart, verified as --verify
says: by default a probe of the store picks the full-object checksum that S3
verifies, MD5 ETags, or reading the object back; server-side encryption), writes
manifest.json next to the media as the commit marker, and only then deletes
the local files. Jibri runs it as its finalize script with the directory as
the only argument; operators run it by hand to re-upload a stuck recording.

Configuration: defaults, then JIBRI_UPLOAD_* environment variables, then
flags. AWS credentials come from the SDK's default chain (task role,
AWS_* variables, profile), never from flags.

Hand-off: with a live recwatch beside it (its heartbeat in the recordings root
is fresh), finalize gives Jibri back within --hold (auto: 20s): a recording not
committed by then is handed to the watcher, which continues the upload at once
without resending the parts stored. finalize then exits 0 and says "handed ...
to the watcher: not committed yet". Without a live watcher it never hands off.

Exit codes:
  0  success: everything uploaded, verified and committed; local files deleted;
     or handed off to the live watcher within --hold (not committed yet; the
     line printed says so)
  1  internal error
  2  usage or configuration error; or not a recording / nothing to upload
  3  locked: another finalizer (hook or recwatch) is working on it; nothing touched
  4  upload failed or deadline exceeded: local files kept, marked for the watcher
  5  verification mismatch: S3 does not hold the bytes read; local files kept
  6  uploaded and committed, but deleting the local files failed; files kept

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 {
		switch args[0] {
		case "demo":
			return runDemo(ctx, args[1:], stdout, stderr, getenv)
		case "secrets":
			return runSecrets(ctx, args[1:], stdout, stderr, getenv)
		case "link":
			return runLink(ctx, args[1:], stdout, stderr, getenv)
		case "check":
			return runCheck(ctx, args[1:], stdout, stderr, getenv)
		case "version", "--version", "-version":
			fmt.Fprintln(stdout, "finalize", version.Version)
			return exitOK
		}
	}
	cfg := config.Defaults()
	fs := flag.NewFlagSet("finalize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Bind(fs)
	if err := config.ApplyEnv(fs, getenv); err != nil {
		return fail(stderr, exitUsage, err, "fix the JIBRI_UPLOAD_* environment variables")
	}
	if code, ok := parseFlags(fs, usage, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return fail(stderr, exitUsage, errors.New("expected exactly one recording directory"), "see finalize --help")
	}
	if err := cfg.Validate(); err != nil {
		return fail(stderr, exitUsage, err, "see finalize --help")
	}
	return finalizeDir(ctx, cfg, s3conn.Options{}, fs.Arg(0), stdout, stderr, getenv)
}

// finalizeDir runs the pipeline with a validated configuration. conn
// carries test or demo overrides (credentials); its endpoint settings are
// taken from cfg.
func finalizeDir(ctx context.Context, cfg config.Config, conn s3conn.Options, dir string, stdout, stderr io.Writer, getenv func(string) string) int {
	log, err := logging.New(stderr, cfg.LogFormat, cfg.LogLevel, "finalize")
	if err != nil {
		return fail(stderr, exitUsage, err, "see finalize --help")
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return fail(stderr, exitUsage, err, "")
	}
	cfg.HoldDuration = holdFor(cfg, dir, log)
	cfg.ProbeCache = recdir.ProbeCache(filepath.Dir(dir))
	var onProgress func(string, int64, int64)
	if showProgress(cfg.LogFormat, stderr) {
		onProgress = newProgress(stderr).update
	}
	sink := metricsSink(cfg.MetricsFile, dir)
	p, err := app.New(ctx, cfg, conn, log, sink, "finalize", onProgress, getenv)
	if err != nil {
		return fail(stderr, exitUsage, err, "check the region, endpoint and CA bundle")
	}
	runner := p.Runner
	res, err := runner.Run(ctx, dir)
	if err != nil {
		code := exitCode(err)
		return fail(stderr, code, err, hint(code))
	}
	deliverNow(ctx, cfg, p, res, log, sink, getenv) // the local files are gone already
	printResult(stdout, res)
	return exitOK
}

// holdFor resolves --hold: the hold (auto: DefaultHold) applies only when a
// watcher's heartbeat in the recordings root is fresh, and there is no
// hand-off without one: a recording is never left to a watcher that is not
// there.
func holdFor(cfg config.Config, dir string, log zerolog.Logger) time.Duration {
	hold := cfg.HoldDuration
	if cfg.HoldAuto {
		hold = config.DefaultHold
	}
	if hold <= 0 {
		return 0
	}
	root := filepath.Dir(dir)
	if hb, ok := recdir.LiveWatcher(root, time.Now()); ok {
		log.Debug().Int("watcher_pid", hb.PID).Str("watcher_host", hb.Host).Dur("hold", hold).Msg("live watcher found: uploads not committed within the hold are handed to it")
		return hold
	}
	log.Debug().Str("root", root).Msg("no live watcher: no hand-off, the whole upload runs here")
	return 0
}

// showProgress: progress lines only for a human at a terminal.
func showProgress(format string, stderr io.Writer) bool {
	return format != "json" && logging.IsTerminal(stderr)
}

func metricsSink(setting, dir string) metrics.Sink {
	switch setting {
	case "none", "":
		return metrics.Discard{}
	case "auto":
		return metrics.FileSink{Path: metrics.Spool(filepath.Dir(dir))}
	}
	return metrics.FileSink{Path: setting}
}

func exitCode(err error) int {
	switch {
	case errors.Is(err, finalize.ErrLocked):
		return exitLocked
	case errors.Is(err, finalize.ErrUsage):
		return exitUsage
	case errors.Is(err, finalize.ErrVerify):
		return exitVerify
	case errors.Is(err, finalize.ErrUpload):
		return exitUpload
	case errors.Is(err, finalize.ErrCleanup):
		return exitCleanup
	}
	return exitInternal
}

func hint(code int) string {
	switch code {
	case exitLocked:
		return "another finalizer is working on this recording; try again when it is done"
	case exitUpload, exitVerify:
		return "the recording is kept on disk; recwatch retries it, or run finalize on it again"
	case exitCleanup:
		return "the recording is safe in S3 (see the manifest); delete the local files by hand or fix permissions and rerun"
	case exitUsage:
		return "see finalize --help"
	}
	return ""
}

func fail(stderr io.Writer, code int, err error, hint string) int {
	fmt.Fprintf(stderr, "finalize: %v\n", err)
	if hint != "" {
		fmt.Fprintf(stderr, "hint: %s\n", hint)
	}
	return code
}

func printResult(w io.Writer, res *finalize.Result) {
	if res.HandedOff {
		fmt.Fprintf(w, "handed %s to the watcher after %.1fs: not committed yet (%d of %d parts stored); recwatch continues the upload and deletes nothing before S3 holds every byte\n",
			res.Dir, res.Duration.Seconds(), res.PartsStored, res.PartsTotal)
		return
	}
	if len(res.Files) == 0 {
		fmt.Fprintf(w, "finalized %s: already committed (%s); leftover cleanup done\n", res.Dir, res.ManifestKey)
		return
	}
	secs := res.Duration.Seconds()
	fmt.Fprintf(w, "finalized %s: %d file(s), %s in %.1fs (%s/s), attempt %d\n",
		res.Dir, len(res.Files), units.Bytes(res.Bytes), secs, units.Bytes(int64(float64(res.Bytes)/max(secs, 0.001))), res.Attempts)
	for _, f := range res.Files {
		v := ""
		if f.VersionID != "" {
			v = " version " + f.VersionID
		}
		fmt.Fprintf(w, "  uploaded s3://%s/%s (%s, %d part(s), checksum %s%s)\n", res.Bucket, f.Key, units.Bytes(f.Size), f.Parts, f.Checksum, v)
	}
	fmt.Fprintf(w, "  manifest s3://%s/%s\n", res.Bucket, res.ManifestKey)
	switch {
	case res.Kept:
		fmt.Fprintln(w, "  local files kept (--keep)")
	case res.DirRemoved:
		fmt.Fprintln(w, "  local files deleted, directory removed")
	default:
		fmt.Fprintf(w, "  local media deleted; kept on disk: %s\n", strings.Join(res.Leftovers, ", "))
	}
}
