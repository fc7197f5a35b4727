package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/confwatch"
	"github.com/jitsi-recorder/jibri-s3/internal/jvbstats"
	"github.com/jitsi-recorder/jibri-s3/internal/logging"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/protect"
	"github.com/jitsi-recorder/jibri-s3/internal/version"
)

const (
	exitOK      = 0
	exitFailure = 1 // the drain deadline passed with conferences running, or the bridge refused to drain
	exitUsage   = 2
)

const usage = `usage: confwatch [flags]
       confwatch version

confwatch runs beside a Jitsi Videobridge (same ECS task, the bridge's private
HTTP server on loopback). Every interval it reads /colibri/stats and holds ECS
task scale-in protection while the bridge hosts a conference (through
$ECS_AGENT_URI; none outside ECS); a failed read keeps the last state. Once per
metrics interval it writes the Conferences and Participants gauges as one
CloudWatch EMF line on stdout (namespace, dimension Environment); logs go to
stderr. On SIGTERM it asks the bridge for a graceful shutdown and waits up to
the drain timeout for the last conference to end (keep it below the
container's stopTimeout).

Every flag has an environment variable, CONFWATCH_<FLAG> in upper case with
underscores (CONFWATCH_STATS_URL, CONFWATCH_DRAIN_TIMEOUT, ...); flags win.

Exit codes: 0 drained (or nothing to drain); 1 conferences still running at
the drain deadline, or the bridge refused the graceful shutdown; 2 usage or
configuration error.

Flags:
`

type options struct {
	statsURL, shutdownURL string
	cfg                   confwatch.Config
	protectExpiry         time.Duration
	logFormat, logLevel   string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && (args[0] == "version" || args[0] == "--version") {
		fmt.Fprintln(stdout, "confwatch", version.Version)
		return exitOK
	}
	o, err := parse(args, stderr, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "confwatch: %v\nhint: confwatch --help lists the flags and variables\n", err)
		return exitUsage
	}
	log, err := logging.New(stderr, o.logFormat, o.logLevel, "confwatch")
	if err != nil {
		fmt.Fprintf(stderr, "confwatch: %v\n", err)
		return exitUsage
	}
	keeper := protect.NewKeeper(protect.FromEnv(getenv, log), o.protectExpiry, log)
	bridge := jvbstats.New(o.statsURL, o.shutdownURL, nil)
	w, err := confwatch.New(o.cfg, bridge, keeper, &metrics.WriterSink{W: stdout}, log)
	if err != nil {
		fmt.Fprintf(stderr, "confwatch: %v\n", err)
		return exitUsage
	}
	if err := w.Run(ctx); err != nil {
		log.Error().Err(err).Msg("drain incomplete")
		return exitFailure
	}
	return exitOK
}

// parse applies defaults, then CONFWATCH_* variables, then flags.
func parse(args []string, stderr io.Writer, getenv func(string) string) (options, error) {
	o := options{
		statsURL: jvbstats.DefaultStatsURL, shutdownURL: jvbstats.DefaultShutdownURL,
		cfg: confwatch.DefaultConfig(), protectExpiry: time.Hour, logFormat: "auto", logLevel: "info",
	}
	fs := flag.NewFlagSet("confwatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.statsURL, "stats-url", o.statsURL, "the bridge's /colibri/stats")
	fs.StringVar(&o.shutdownURL, "shutdown-url", o.shutdownURL, "the bridge's /colibri/shutdown")
	fs.DurationVar(&o.cfg.Interval, "interval", o.cfg.Interval, "between stats reads")
	fs.DurationVar(&o.cfg.MetricsInterval, "metrics-interval", o.cfg.MetricsInterval, "between gauge documents")
	fs.DurationVar(&o.cfg.DrainTimeout, "drain-timeout", o.cfg.DrainTimeout, "longest wait for the graceful shutdown after SIGTERM")
	fs.StringVar(&o.cfg.Namespace, "namespace", o.cfg.Namespace, "CloudWatch namespace of the gauges")
	fs.StringVar(&o.cfg.Environment, "environment", o.cfg.Environment, "value of the Environment dimension")
	fs.DurationVar(&o.protectExpiry, "protection-expiry", o.protectExpiry, "ECS task protection expiry, refreshed while conferences run")
	fs.StringVar(&o.logFormat, "log-format", o.logFormat, "auto, json or console")
	fs.StringVar(&o.logLevel, "log-level", o.logLevel, "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "CONFWATCH_" + envName(f.Name)
		if v := getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return o, envErr
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.statsURL == "" {
		return o, errors.New("stats-url must not be empty")
	}
	return o, o.cfg.Validate()
}

func envName(flagName string) string {
	b := []byte(flagName)
	for i, c := range b {
		switch {
		case c == '-':
			b[i] = '_'
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
