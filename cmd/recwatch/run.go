package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/app"
	"github.com/jitsi-recorder/jibri-s3/internal/config"
	"github.com/jitsi-recorder/jibri-s3/internal/inventory"
	"github.com/jitsi-recorder/jibri-s3/internal/lock"
	"github.com/jitsi-recorder/jibri-s3/internal/logging"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/protect"
	"github.com/jitsi-recorder/jibri-s3/internal/recwatch"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/version"
)

const (
	exitOK       = 0
	exitFailures = 1
	exitUsage    = 2
)

const usage = `usage: recwatch [flags]            watch the recordings root and finalize what the hook missed
       recwatch --once [flags]     finalize everything ready now, then exit (1 if anything failed)
       recwatch status [--json] [root]
       recwatch version

recwatch runs beside Jibri (same task, same recordings volume, same uid). It
uses the same configuration as finalize (JIBRI_UPLOAD_* variables and flags),
plus the watcher settings below. EMF metric records go to stdout as JSON
lines (its own, and those finalize left in <root>/.finalize-metrics/); logs
go to stderr. SIGTERM stops taking work and lets uploads finish within
--drain-timeout; a second signal aborts them (they stay on disk, retryable).

Exit codes: 0 ok; 1 --once had failures; 2 usage or configuration error.

Flags:
`

type watchFlags struct {
	root        string
	listen      string
	uploads     int
	settle      time.Duration
	orphan      time.Duration
	maxAttempts int
	retryAfter  time.Duration
	retryCap    time.Duration
	rescan      time.Duration
	drain       time.Duration
	freeWarnGiB float64
	protectTTL  time.Duration
	once        bool
}

func defaultRoot(getenv func(string) string) string {
	for _, k := range []string{"JIBRI_UPLOAD_ROOT", "JIBRI_RECORDING_DIR"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return "/storage/recordings"
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string, sigs <-chan os.Signal) int {
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return runStatus(args[1:], stdout, stderr, getenv)
		case "version", "--version":
			fmt.Fprintln(stdout, "recwatch", version.Version)
			return exitOK
		}
	}
	cfg := config.Defaults()
	cfg.Deadline = time.Hour // the watcher holds no Jibri; big backlogs need time
	cfg.MetricsFile = "none"
	if err := cfg.FromEnv(getenv); err != nil {
		return fail(stderr, exitUsage, err)
	}
	p := inventory.DefaultPolicy()
	wf := watchFlags{root: defaultRoot(getenv), listen: "127.0.0.1:9464", uploads: 1, settle: p.Settle, orphan: p.Orphan,
		maxAttempts: p.MaxAttempts, retryAfter: p.RetryBase, retryCap: p.RetryMax, rescan: 30 * time.Second,
		drain: 100 * time.Second, freeWarnGiB: 2, protectTTL: time.Hour}
	fs := flag.NewFlagSet("recwatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Bind(fs)
	fs.StringVar(&wf.root, "root", wf.root, "recordings root to watch [$JIBRI_UPLOAD_ROOT, $JIBRI_RECORDING_DIR]")
	fs.StringVar(&wf.listen, "listen", wf.listen, "address of /healthz, /readyz and /metrics")
	fs.IntVar(&wf.uploads, "uploads", wf.uploads, "recordings uploaded at once (keep low beside a live meeting)")
	fs.DurationVar(&wf.settle, "settle", wf.settle, "quiet time after metadata.json before the watcher steps in")
	fs.DurationVar(&wf.orphan, "orphan", wf.orphan, "quiet time before a directory without metadata.json counts as a crash orphan")
	fs.IntVar(&wf.maxAttempts, "max-attempts", wf.maxAttempts, "failed attempts after which a recording is stuck (kept, listed, counted)")
	fs.DurationVar(&wf.retryAfter, "retry-after", wf.retryAfter, "first retry delay after a failed attempt (doubles each time)")
	fs.DurationVar(&wf.retryCap, "retry-after-max", wf.retryCap, "longest retry delay")
	fs.DurationVar(&wf.rescan, "rescan", wf.rescan, "full rescan interval (filesystem events are only hints)")
	fs.DurationVar(&wf.drain, "drain-timeout", wf.drain, "time in-flight uploads get after SIGTERM (keep under ECS stopTimeout, max 120s)")
	fs.Float64Var(&wf.freeWarnGiB, "free-warn", wf.freeWarnGiB, "warn when the recordings volume has less free space (GiB)")
	fs.DurationVar(&wf.protectTTL, "protection-expiry", wf.protectTTL, "ECS task protection expiry, refreshed while needed")
	fs.BoolVar(&wf.once, "once", false, "process everything ready, then exit")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 0 {
		return fail(stderr, exitUsage, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if err := cfg.Validate(); err != nil {
		return fail(stderr, exitUsage, err)
	}
	if fi, err := os.Stat(wf.root); err != nil || !fi.IsDir() {
		return fail(stderr, exitUsage, fmt.Errorf("recordings root %s is not a directory", wf.root))
	}
	log, err := logging.New(stderr, cfg.LogFormat, cfg.LogLevel, "recwatch")
	if err != nil {
		return fail(stderr, exitUsage, err)
	}

	stop, stopCancel := context.WithCancel(context.Background())
	abort, abortCancel := context.WithCancel(context.Background())
	defer stopCancel()
	defer abortCancel()
	go func() {
		select {
		case <-sigs:
		case <-stop.Done():
			return
		}
		log.Info().Dur("drain_timeout", wf.drain).Msg("signal received: draining")
		stopCancel()
		t := time.AfterFunc(wf.drain, func() {
			log.Warn().Msg("drain timeout: aborting uploads (recordings stay on disk)")
			abortCancel()
		})
		defer t.Stop()
		select {
		case <-sigs:
			log.Warn().Msg("second signal: aborting uploads (recordings stay on disk)")
			abortCancel()
		case <-abort.Done():
		}
	}()

	emf := &metrics.WriterSink{W: stdout}
	pl, err := app.New(stop, cfg, s3conn.Options{}, log, emf, "recwatch", nil, getenv)
	if err != nil {
		return fail(stderr, exitUsage, err)
	}
	m := recwatch.NewMetrics()
	keeper := protect.NewKeeper(protect.FromEnv(getenv, log), wf.protectTTL, log)
	d := recwatch.New(recwatch.Options{
		Root: wf.root,
		Policy: inventory.Policy{Settle: wf.settle, Orphan: wf.orphan, MaxAttempts: wf.maxAttempts,
			RetryBase: wf.retryAfter, RetryMax: wf.retryCap},
		Concurrency: wf.uploads, Rescan: wf.rescan, FreeWarnBytes: int64(wf.freeWarnGiB * (1 << 30)),
		Spool: metrics.Spool(wf.root), Once: wf.once,
	}, pl.Runner, log, m, keeper, emf, pl.Probe)
	if !wf.once {
		addr, err := d.Serve(stop, wf.listen)
		if err != nil {
			return fail(stderr, exitUsage, err)
		}
		log.Info().Str("root", wf.root).Str("listen", addr).Str("bucket", cfg.Bucket).Str("version", version.Version).Msg("watching")
	}
	if err := d.Run(stop, abort); err != nil {
		if errors.Is(err, recwatch.ErrFailures) {
			fmt.Fprintf(stderr, "recwatch: %v\nhint: see `recwatch status` for the reasons\n", err)
			return exitFailures
		}
		return fail(stderr, exitUsage, err)
	}
	return exitOK
}

func runStatus(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("recwatch status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	p := inventory.DefaultPolicy()
	fs.DurationVar(&p.Settle, "settle", p.Settle, "as for the watcher")
	fs.DurationVar(&p.Orphan, "orphan", p.Orphan, "as for the watcher")
	fs.IntVar(&p.MaxAttempts, "max-attempts", p.MaxAttempts, "as for the watcher")
	fs.DurationVar(&p.RetryBase, "retry-after", p.RetryBase, "as for the watcher")
	fs.DurationVar(&p.RetryMax, "retry-after-max", p.RetryMax, "as for the watcher")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	root := defaultRoot(getenv)
	if fs.NArg() > 0 {
		root = fs.Arg(0)
	}
	now := time.Now()
	entries, err := inventory.Scan(root, now, p, lock.IsLocked)
	if err != nil {
		return fail(stderr, exitUsage, err)
	}
	if *asJSON {
		err = inventory.WriteJSON(stdout, root, now, entries)
	} else {
		err = inventory.WriteTable(stdout, root, now, entries)
	}
	if err != nil {
		return fail(stderr, exitFailures, err)
	}
	return exitOK
}

func fail(stderr io.Writer, code int, err error) int {
	fmt.Fprintf(stderr, "recwatch: %v\nhint: see recwatch --help\n", err)
	return code
}
