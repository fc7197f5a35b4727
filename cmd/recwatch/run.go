package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/app"
	"github.com/jitsi-recorder/jibri-s3/internal/config"
	"github.com/jitsi-recorder/jibri-s3/internal/inventory"
	"github.com/jitsi-recorder/jibri-s3/internal/jibristatus"
	"github.com/jitsi-recorder/jibri-s3/internal/logging"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/outbox"
	"github.com/jitsi-recorder/jibri-s3/internal/protect"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recwatch"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/version"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook"
)

// Exit codes, documented in usage.
const (
	exitOK      = 0
	exitFailure = 1 // --once had failures, or the watcher could not run
	exitUsage   = 2 // usage or configuration error
)

const usage = `usage: recwatch [flags]            watch the recordings root and finalize what the hook missed
       recwatch --once [flags]     finalize everything ready now, then exit (1 if anything failed)
       recwatch status [--json] [--events] [root]   (recordings, then undelivered webhook events)
       recwatch version

recwatch runs beside Jibri (same task, same recordings volume, same uid). It
uses the same configuration as finalize (JIBRI_UPLOAD_* variables and flags),
plus the watcher settings below, each with its own JIBRI_UPLOAD_* variable.
EMF metric records go to stdout as JSON lines (its own, and those finalize
left in <root>/.finalize-metrics/); logs go to stderr. SIGTERM stops taking
work and lets uploads finish within --drain-timeout; a second signal aborts
them (they stay on disk, retryable).

Exit codes: 0 ok; 1 --once had failures, or a runtime failure (the watch, the
HTTP listener); 2 usage or configuration error.

Flags:
`

// watchFlags are the watcher's own settings (beyond finalize's).
type watchFlags struct {
	root        string
	listen      string
	uploads     int
	rescan      time.Duration
	drain       time.Duration
	freeWarnGiB float64
	protectTTL  time.Duration
	once        bool
	policy      inventory.Policy
	jibriURL    string
	scope       string
	heartbeat   time.Duration
}

func defaultRoot(getenv func(string) string) string {
	if v := getenv("JIBRI_RECORDING_DIR"); v != "" {
		return v
	}
	return "/storage/recordings"
}

// bindPolicy registers the flags that decide when a recording is ready,
// shared by the watcher and the status command so that both agree.
func bindPolicy(fs *flag.FlagSet, p *inventory.Policy) {
	fs.DurationVar(&p.Settle, "settle", p.Settle, "quiet time after metadata.json before the watcher steps in")
	fs.DurationVar(&p.Orphan, "orphan", p.Orphan, "quiet time before a directory without metadata.json counts as a crash orphan")
	fs.IntVar(&p.MaxAttempts, "max-attempts", p.MaxAttempts, "failed attempts after which a recording is stuck (kept, listed, counted)")
	fs.DurationVar(&p.RetryBase, "retry-after", p.RetryBase, "first retry delay after a failed attempt (doubles each time)")
	fs.DurationVar(&p.RetryMax, "retry-after-max", p.RetryMax, "longest retry delay (and the delay after a permanent error)")
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
	cfg, wf, code := parseWatch(args, stderr, getenv)
	if code >= 0 {
		return code
	}
	log, err := logging.New(stderr, cfg.LogFormat, cfg.LogLevel, "recwatch")
	if err != nil {
		return fail(stderr, exitUsage, err)
	}
	stop, abort, cancel := drainOnSignal(sigs, wf.drain, log)
	defer cancel()

	emf := &metrics.WriterSink{W: stdout}
	cfg.ProbeCache = recdir.ProbeCache(wf.root)
	pl, err := app.New(stop, cfg, s3conn.Options{}, log, emf, "recwatch", nil, getenv)
	if err != nil {
		return fail(stderr, exitUsage, err)
	}
	keeper := protect.NewKeeper(protect.FromEnv(getenv, log), wf.protectTTL, log)
	opts := recwatch.Options{
		Root: wf.root, Policy: wf.policy,
		Concurrency: wf.uploads, Rescan: wf.rescan, FreeWarnBytes: int64(wf.freeWarnGiB * (1 << 30)),
		Spool: metrics.Spool(wf.root), Once: wf.once,
		ProtectOwn: wf.scope == "own", Namespace: cfg.Namespace, Environment: cfg.Environment, Heartbeat: wf.heartbeat,
	}
	if wf.jibriURL != "" {
		opts.Jibri = jibristatus.New(wf.jibriURL, nil)
	}
	if dl := pl.Deliverer(cfg, wf.root, log); dl != nil {
		opts.Events = dl
	}
	d := recwatch.New(opts, pl.Runner, log, recwatch.NewMetrics(), keeper, emf, pl.Probe)
	if !wf.once {
		addr, err := d.Serve(stop, wf.listen)
		if err != nil {
			return fail(stderr, exitFailure, err)
		}
		log.Info().Str("root", wf.root).Str("listen", addr).Str("bucket", cfg.Bucket).Str("version", version.Version).Msg("watching")
	}
	if err := d.Run(stop, abort); err != nil {
		if errors.Is(err, recwatch.ErrFailures) {
			fmt.Fprintf(stderr, "recwatch: %v\nhint: see `recwatch status` for the reasons\n", err)
			return exitFailure
		}
		return fail(stderr, exitFailure, err)
	}
	return exitOK
}

// parseWatch reads the configuration: defaults, then JIBRI_UPLOAD_*
// variables derived from the flag names, then flags. code is the exit code
// when the command must stop now (help, usage error), else -1.
func parseWatch(args []string, stderr io.Writer, getenv func(string) string) (cfg config.Config, wf watchFlags, code int) {
	cfg = config.Defaults()
	cfg.Deadline = time.Hour // the watcher holds no Jibri; big backlogs need time
	cfg.MetricsFile = "none"
	wf = watchFlags{root: defaultRoot(getenv), listen: "127.0.0.1:9464", uploads: 1, rescan: 30 * time.Second,
		drain: 100 * time.Second, freeWarnGiB: 2, protectTTL: time.Hour, policy: inventory.DefaultPolicy()}
	fs := flag.NewFlagSet("recwatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Bind(fs)
	fs.StringVar(&wf.root, "root", wf.root, "recordings root to watch (default also from $JIBRI_RECORDING_DIR)")
	fs.StringVar(&wf.listen, "listen", wf.listen, "address of /healthz, /readyz and /metrics")
	fs.IntVar(&wf.uploads, "uploads", wf.uploads, "recordings uploaded at once (keep low beside a live meeting)")
	bindPolicy(fs, &wf.policy)
	fs.DurationVar(&wf.rescan, "rescan", wf.rescan, "full rescan interval (filesystem events are only hints)")
	fs.DurationVar(&wf.drain, "drain-timeout", wf.drain, "time in-flight uploads get after SIGTERM (keep under ECS stopTimeout, max 120s)")
	fs.Float64Var(&wf.freeWarnGiB, "free-warn", wf.freeWarnGiB, "warn when the recordings volume has less free space (GiB)")
	fs.DurationVar(&wf.protectTTL, "protection-expiry", wf.protectTTL, "ECS task protection expiry, refreshed while needed")
	fs.BoolVar(&wf.once, "once", false, "process everything ready, then exit")
	fs.DurationVar(&wf.heartbeat, "heartbeat", 5*time.Second, "how often the watcher refreshes <root>/.finalize-watcher.json, by which the hook knows it may hand off (fresh for 3 intervals)")
	fs.StringVar(&wf.jibriURL, "jibri-health-url", "", "Jibri's health API in this task (e.g. http://127.0.0.1:2222/jibri/api/v1.0/health): protect the task while it records, publish IdleRecorders")
	fs.StringVar(&wf.scope, "protect-scope", "all", "ECS task protection covers all pending recordings on the volume (all), or only this task's Jibri and uploads (own: for a volume shared by all tasks)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := config.ApplyEnv(fs, getenv); err != nil {
		return cfg, wf, fail(stderr, exitUsage, err)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, wf, exitOK
		}
		return cfg, wf, exitUsage
	}
	if fs.NArg() != 0 {
		return cfg, wf, fail(stderr, exitUsage, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, wf, fail(stderr, exitUsage, err)
	}
	cfg.HoldAuto, cfg.HoldDuration = false, 0 // the watcher holds no Jibri: it never hands off
	if wf.scope != "all" && wf.scope != "own" {
		return cfg, wf, fail(stderr, exitUsage, fmt.Errorf("protect scope %q: want all or own", wf.scope))
	}
	if fi, err := os.Stat(wf.root); err != nil || !fi.IsDir() {
		return cfg, wf, fail(stderr, exitUsage, fmt.Errorf("recordings root %s is not a directory", wf.root))
	}
	return cfg, wf, -1
}

func runStatus(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("recwatch status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	onlyEvents := fs.Bool("events", false, "print only the undelivered webhook events (with --json, as JSON)")
	giveUp := fs.Duration("webhook-give-up", webhook.DefaultGiveUp, "age after which an undelivered event is a dead letter (as the watcher's)")
	p := inventory.DefaultPolicy()
	bindPolicy(fs, &p)
	root := defaultRoot(getenv)
	fs.StringVar(&root, "root", root, "recordings root (or the first argument)")
	if err := config.ApplyEnv(fs, getenv); err != nil {
		return fail(stderr, exitUsage, err)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		root = fs.Arg(0)
	}
	now := time.Now()
	box := outbox.Open(root)
	list, err := box.List()
	if err != nil {
		return fail(stderr, exitFailure, err)
	}
	events := outbox.Describe(list, webhook.Policy{GiveUp: *giveUp}, now)
	if *onlyEvents {
		if *asJSON {
			err = outbox.WriteJSON(stdout, box.Dir(), now, events)
		} else {
			err = outbox.WriteTable(stdout, box.Dir(), now, events)
		}
		if err != nil {
			return fail(stderr, exitFailure, err)
		}
		return exitOK
	}
	entries, err := inventory.Scan(root, now, p, isLocked)
	if err != nil {
		return fail(stderr, exitFailure, err)
	}
	if *asJSON {
		err = inventory.WriteJSON(stdout, root, now, entries)
	} else {
		err = inventory.WriteTable(stdout, root, now, entries)
		if err == nil && len(events) > 0 {
			fmt.Fprintln(stdout)
			err = outbox.WriteTable(stdout, box.Dir(), now, events)
		}
	}
	if err != nil {
		return fail(stderr, exitFailure, err)
	}
	return exitOK
}

func fail(stderr io.Writer, code int, err error) int {
	fmt.Fprintf(stderr, "recwatch: %v\nhint: see recwatch --help\n", err)
	return code
}
