package confwatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/jvbstats"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
)

// Log field names.
const (
	keyConferences  = "conferences"
	keyParticipants = "participants"
	keyProtect      = "protect"
	keyDrainTimeout = "drain_timeout"
)

// Bridge is what the watcher needs from a videobridge (jvbstats.Client).
type Bridge interface {
	// Fetch returns the bridge's current statistics, or an error when it
	// cannot tell (which never means "idle").
	Fetch(ctx context.Context) (jvbstats.Stats, error)
	// Shutdown asks the bridge to shut down; nil only when it accepted.
	Shutdown(ctx context.Context, graceful bool) error
}

// Protector holds the task's scale-in protection in the wanted state
// (protect.Keeper). Want returns an error when the agent did not confirm.
type Protector interface {
	Want(ctx context.Context, protect bool) error
}

var _ Bridge = (*jvbstats.Client)(nil)

// Config of a Watcher.
type Config struct {
	Interval        time.Duration // between stats reads
	MetricsInterval time.Duration // between EMF documents
	DrainTimeout    time.Duration // longest wait for the graceful shutdown
	Namespace       string        // CloudWatch namespace of the gauges
	Environment     string        // value of the Environment dimension
}

// DefaultConfig is the configuration without flags or environment.
func DefaultConfig() Config {
	return Config{
		Interval:        10 * time.Second,
		MetricsInterval: time.Minute,
		DrainTimeout:    585 * time.Second,
		Namespace:       "Jitsi/JVB",
		Environment:     "default",
	}
}

// Validate reports a configuration the watcher cannot run with.
func (c Config) Validate() error {
	switch {
	case c.Interval <= 0:
		return errors.New("confwatch: interval must be positive")
	case c.MetricsInterval < c.Interval:
		return errors.New("confwatch: metrics interval must not be shorter than the interval")
	case c.DrainTimeout < 0:
		return errors.New("confwatch: drain timeout must not be negative")
	case c.Namespace == "":
		return errors.New("confwatch: namespace must not be empty")
	case c.Environment == "":
		return errors.New("confwatch: environment must not be empty")
	}
	return nil
}

// Watcher is one bridge's watcher. Create it with New; Step and Drain are
// for one goroutine (Run calls them).
type Watcher struct {
	cfg    Config
	bridge Bridge
	prot   Protector
	sink   metrics.Sink
	log    zerolog.Logger
	now    func() time.Time

	seen       bool           // a read has succeeded
	last       jvbstats.Stats // the last successful read
	protect    bool           // the last decision
	failing    bool           // reads are failing (logged once per episode)
	lastEmit   time.Time      // when the last EMF document was written
	sinceEmit  bool           // a read succeeded since the last document
	peakConf   int            // highest values since the last document
	peakPartic int
}

// New returns a watcher. sink receives the EMF documents (stdout in
// production).
func New(cfg Config, bridge Bridge, prot Protector, sink metrics.Sink, log zerolog.Logger) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Watcher{cfg: cfg, bridge: bridge, prot: prot, sink: sink, log: log, now: time.Now}, nil
}

// Step reads the stats once, moves protection towards "protected while a
// conference runs" and writes a metrics document when one is due. A failed
// read keeps the previous decision (and keeps refreshing it). The returned
// error is the read's or the protector's; Run logs it and carries on.
func (w *Watcher) Step(ctx context.Context) error {
	st, err := w.bridge.Fetch(ctx)
	if err != nil && ctx.Err() != nil {
		return err // stopping: not a bridge failure
	}
	if err != nil {
		if !w.failing {
			w.log.Warn().Err(err).Bool(keyProtect, w.protect).Msg("cannot read bridge stats; keeping the last protection state")
			w.failing = true
		}
		if w.seen {
			if perr := w.prot.Want(ctx, w.protect); perr != nil {
				return errors.Join(err, perr)
			}
		}
		return err
	}
	if w.failing {
		w.log.Info().Int(keyConferences, st.Conferences).Msg("bridge stats readable again")
		w.failing = false
	}
	w.seen, w.last = true, st
	w.sinceEmit = true
	w.peakConf = max(w.peakConf, st.Conferences)
	w.peakPartic = max(w.peakPartic, st.Participants)
	w.protect = st.Conferences > 0
	perr := w.prot.Want(ctx, w.protect)
	w.emitIfDue()
	return perr
}

// emitIfDue writes one gauge document per metrics interval, with the last
// values read and the highest since the previous document; an interval
// without any successful read writes nothing (missing data, not zero).
func (w *Watcher) emitIfDue() {
	now := w.now()
	if !w.lastEmit.IsZero() && now.Sub(w.lastEmit) < w.cfg.MetricsInterval {
		return
	}
	if !w.sinceEmit {
		return
	}
	doc, err := Gauges{
		Conferences: w.last.Conferences, Participants: w.last.Participants,
		MaxConferences: w.peakConf, MaxParticipants: w.peakPartic,
	}.EMF(w.cfg.Namespace, w.cfg.Environment, now)
	if err == nil {
		err = w.sink.Emit(doc)
	}
	if err != nil {
		w.log.Warn().Err(err).Msg("cannot write the gauge metrics")
	}
	w.lastEmit, w.sinceEmit = now, false
	w.peakConf, w.peakPartic = w.last.Conferences, w.last.Participants
}

// Run steps every interval until ctx is done, then drains (see Drain) with
// a fresh deadline of DrainTimeout.
func (w *Watcher) Run(ctx context.Context) error {
	w.log.Info().Dur("interval", w.cfg.Interval).Dur(keyDrainTimeout, w.cfg.DrainTimeout).Msg("watching the bridge")
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		if err := w.Step(ctx); err != nil && ctx.Err() == nil {
			w.log.Debug().Err(err).Msg("step failed")
		}
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.DrainTimeout)
			defer cancel()
			return w.Drain(dctx)
		case <-t.C:
		}
	}
}

// ErrDrainTimeout means the bridge still hosted conferences when the drain
// deadline passed.
var ErrDrainTimeout = errors.New("confwatch: conferences still running at the drain deadline")

// Drain asks the bridge for a graceful shutdown and waits until it hosts no
// conference (or stops answering: it exits after its last conference) or
// ctx ends. It returns nil when the bridge is empty or gone, ErrDrainTimeout
// when ctx ended first, and the shutdown request's error when the bridge
// refused it while conferences were still running.
func (w *Watcher) Drain(ctx context.Context) error {
	if err := w.bridge.Shutdown(ctx, true); err != nil {
		st, ferr := w.bridge.Fetch(ctx)
		if ferr != nil {
			w.log.Info().Err(err).Msg("bridge gone before graceful shutdown")
			return nil
		}
		if st.Conferences == 0 {
			return nil
		}
		return fmt.Errorf("confwatch: graceful shutdown refused with %d conferences: %w", st.Conferences, err)
	}
	w.log.Info().Msg("graceful shutdown requested; waiting for the last conference")
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	running := w.last.Conferences
	for {
		st, err := w.bridge.Fetch(ctx)
		if err == nil {
			running = st.Conferences
		}
		switch {
		case err != nil && ctx.Err() == nil:
			// The bridge exits once its last conference ends.
			w.log.Info().Err(err).Msg("bridge stopped answering; drained")
			return nil
		case err == nil && st.Conferences == 0:
			w.log.Info().Msg("bridge drained")
			return nil
		case err == nil:
			w.log.Debug().Int(keyConferences, st.Conferences).Int(keyParticipants, st.Participants).Msg("draining")
		}
		select {
		case <-ctx.Done():
			w.log.Warn().Int(keyConferences, running).Msg("drain deadline passed with conferences running")
			return ErrDrainTimeout
		case <-t.C:
		}
	}
}

// Gauges is one metrics document's values.
type Gauges struct {
	Conferences, Participants       int // at the last read
	MaxConferences, MaxParticipants int // highest read since the previous document
}

// EMF renders g as one CloudWatch Embedded Metric Format document with the
// single dimension Environment. Summed over the bridges, Conferences and
// Participants are the platform's current totals.
func (g Gauges) EMF(namespace, environment string, at time.Time) ([]byte, error) {
	b, err := metrics.Gauges(namespace, environment, at, map[string]float64{
		"Conferences": float64(g.Conferences), "Participants": float64(g.Participants),
		"MaxConferences": float64(g.MaxConferences), "MaxParticipants": float64(g.MaxParticipants),
	})
	if err != nil {
		return nil, fmt.Errorf("confwatch: cannot encode metrics: %w", err)
	}
	return b, nil
}
