package recwatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/finalize"
	"github.com/jitsi-recorder/jibri-s3/internal/inventory"
	"github.com/jitsi-recorder/jibri-s3/internal/jibristatus"
	"github.com/jitsi-recorder/jibri-s3/internal/logging"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/watch"
)

// Finalizer runs the pipeline on one directory (finalize.Runner).
type Finalizer interface {
	Run(ctx context.Context, dir string) (*finalize.Result, error)
}

// Protector holds ECS task scale-in protection (protect.Keeper).
type Protector interface {
	Want(ctx context.Context, protect bool) error
	Protected() bool
}

// Options configure the daemon.
type Options struct {
	Root          string
	Policy        inventory.Policy
	Concurrency   int           // recordings uploaded at once
	Rescan        time.Duration // periodic full rescan
	Debounce      time.Duration // wait after a filesystem event before rescanning
	FreeWarnBytes int64         // warn when the volume has less free space
	Spool         string        // finalize's EMF spool to ship ("" for none)
	Once          bool          // process what is ready, then return

	// Jibri, when set, is asked for the busy status of the Jibri in this
	// task every JibriPoll: the task stays protected while it records, and
	// IdleRecorders/Recorders gauges go to the EMF sink every minute.
	Jibri     JibriProbe
	JibriPoll time.Duration
	// ProtectOwn limits task protection to this task's own work: its Jibri
	// recording and its uploads in flight. For recordings on a volume all
	// tasks share (EFS), where any watcher finishes any recording; on a
	// volume of the task's own, every pending recording needs protection.
	ProtectOwn bool
	// Namespace and Environment of the gauges.
	Namespace, Environment string
	// Heartbeat is how often the watcher refreshes its heartbeat in the
	// root, by which the hook knows it may hand recordings off.
	Heartbeat time.Duration
	// Events, when set, delivers the webhook outbox of the root: what
	// finalize could not deliver, for as long as the watcher runs.
	Events EventDeliverer
}

// JibriProbe reports the Jibri's busy status (jibristatus.Client).
type JibriProbe interface {
	Get(ctx context.Context) (jibristatus.Status, error)
}

// ErrFailures reports that a --once run had failures.
var ErrFailures = errors.New("recwatch: some recordings failed")

// Daemon is the watcher.
type Daemon struct {
	opts    Options
	fin     Finalizer
	log     zerolog.Logger
	metrics *Metrics
	protect Protector
	emf     metrics.Sink
	probe   func(ctx context.Context) error

	busy        busyDirs
	scanErrs    int
	heartbeatOK bool
	// Loop goroutine only: what Jibri said last.
	jibri      jibristatus.Status
	jibriKnown bool
	jibriErrs  int
	lastGauge  time.Time

	watching atomic.Bool
	s3ok     atomic.Bool
	lowDisk  bool
	lastWarn time.Time

	// The event delivery goroutine only (and Run after it, --once).
	eventsNext, eventsEMF time.Time
	eventsWake            chan struct{} // a recording was committed
}

// New returns a daemon. probe checks that S3 is reachable (for /readyz);
// emf receives EMF documents shipped from finalize's spool.
func New(opts Options, fin Finalizer, log zerolog.Logger, m *Metrics, p Protector, emf metrics.Sink, probe func(context.Context) error) *Daemon {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.Rescan <= 0 {
		opts.Rescan = 30 * time.Second
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 500 * time.Millisecond
	}
	if opts.JibriPoll <= 0 {
		opts.JibriPoll = 10 * time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 5 * time.Second
	}
	return &Daemon{opts: opts, fin: fin, log: log, metrics: m, protect: p, emf: emf, probe: probe, busy: newBusyDirs(), eventsWake: make(chan struct{}, 1)}
}

type outcome struct {
	dir string
	res *finalize.Result
	err error
	dur time.Duration
}

// Run works until stop ends (first SIGTERM), then waits for in-flight
// uploads, which run under abort (cancelled at the drain deadline or on a
// second signal) so that an abort leaves them failed and retryable.
func (d *Daemon) Run(stop, abort context.Context) error {
	wake := make(chan struct{}, 1)
	if !d.opts.Once {
		// Watch first, then scan: nothing slips between.
		w, err := watch.New(d.opts.Root, d.log)
		if err != nil {
			return err
		}
		defer w.Close()
		go w.Run(stop, wake)
	}
	d.watching.Store(true)
	defer d.watching.Store(false)
	d.checkS3(stop)
	if d.opts.Events != nil && !d.opts.Once {
		var ewg sync.WaitGroup
		ewg.Add(1)
		go func() {
			defer ewg.Done()
			d.deliverEvents(stop, abort, d.eventsWake)
		}()
		defer ewg.Wait()
	}

	rescan := time.NewTicker(d.opts.Rescan)
	defer rescan.Stop()
	var heartbeat <-chan time.Time
	if !d.opts.Once {
		t := time.NewTicker(d.opts.Heartbeat)
		defer t.Stop()
		heartbeat = t.C
		d.beat()
		defer d.withdraw()
	}
	var jibriTick <-chan time.Time
	if d.opts.Jibri != nil && !d.opts.Once {
		t := time.NewTicker(d.opts.JibriPoll)
		defer t.Stop()
		jibriTick = t.C
		d.pollJibri(stop)
	}
	next := time.NewTimer(time.Hour)
	defer next.Stop()

	inflight := map[string]bool{}
	attempted := map[string]bool{} // --once: one attempt per directory
	done := make(chan outcome, d.opts.Concurrency)
	var wg sync.WaitGroup
	failures := 0
	finish := func(o outcome) {
		delete(inflight, o.dir)
		if errors.Is(o.err, finalize.ErrLocked) {
			d.busy.locked(o.dir, time.Now())
		} else {
			d.busy.clear(o.dir)
		}
		if d.record(o) {
			failures++
		}
		if o.err == nil && o.res != nil && o.res.EventID != "" {
			select {
			case d.eventsWake <- struct{}{}:
			default:
			}
		}
	}

	for {
		entries, err := inventory.Scan(d.opts.Root, time.Now(), d.opts.Policy, func(dir string) bool { return inflight[dir] })
		if err != nil {
			// A failed observation is not an empty one: protection and the
			// gauges keep their last values.
			d.scanFailed(err)
		} else {
			d.scanOK()
			d.observe(abort, entries, len(inflight))
		}
		d.ship()
		d.checkDisk()

		ready := 0
		var wakeAt time.Time
		now := time.Now()
		for _, e := range entries {
			// A hand-off means the hook has released the lock: no backoff.
			if e.State == inventory.Pending && !e.HandedOff && !d.busy.ready(e.Dir, now) {
				// Another finalizer holds it: back off instead of spinning.
				if at := d.busy.until(e.Dir); wakeAt.IsZero() || at.Before(wakeAt) {
					wakeAt = at
				}
				continue
			}
			switch {
			case e.State == inventory.Pending && !inflight[e.Dir] && !attempted[e.Dir]:
				ready++
				if len(inflight) >= d.opts.Concurrency || stop.Err() != nil {
					continue
				}
				inflight[e.Dir] = true
				if d.opts.Once {
					attempted[e.Dir] = true
				}
				// A retry of a recording another finalizer held is not news.
				lvl := zerolog.InfoLevel
				if d.busy.known(e.Dir) {
					lvl = zerolog.DebugLevel
				}
				wg.Add(1)
				if e.HandedOff {
					d.metrics.pickedUp.Inc()
				}
				go func(e inventory.Entry) {
					defer wg.Done()
					d.log.WithLevel(lvl).Str(logging.KeyDir, e.Dir).Str("reason", e.Reason).Int("attempts", e.Attempts).Msg("finalizing")
					start := time.Now()
					res, err := d.fin.Run(abort, e.Dir)
					done <- outcome{dir: e.Dir, res: res, err: err, dur: time.Since(start)}
				}(e)
			case e.ReadyAt.After(time.Now()) && (wakeAt.IsZero() || e.ReadyAt.Before(wakeAt)):
				wakeAt = e.ReadyAt
			}
		}
		if d.opts.Once && len(inflight) == 0 && ready == 0 {
			break
		}
		if !wakeAt.IsZero() && !d.opts.Once {
			next.Reset(max(time.Until(wakeAt), 0) + 100*time.Millisecond)
		}

		select {
		case <-stop.Done():
			d.withdraw() // no hand-off to a watcher that is leaving
			d.log.Info().Int("in_flight", len(inflight)).Msg("stopping: no new work, draining uploads")
			for len(inflight) > 0 {
				finish(<-done)
			}
			wg.Wait()
			return nil
		case o := <-done:
			finish(o)
		case <-wake:
			// Let a burst of events settle into one rescan.
			t := time.NewTimer(d.opts.Debounce)
			select {
			case <-t.C:
			case <-stop.Done():
			}
			t.Stop()
		case <-rescan.C:
			d.checkS3(stop)
		case <-heartbeat:
			d.beat()
		case <-jibriTick:
			d.pollJibri(stop) // the rescan that follows updates protection
		case <-next.C:
		}
	}
	wg.Wait()
	if d.opts.Events != nil {
		d.eventPass(abort) // --once: what is due now, then exit
	}
	if failures > 0 {
		return fmt.Errorf("%w: %d failure(s)", ErrFailures, failures)
	}
	return nil
}

// record updates metrics for one finished run; it reports whether the run
// counts as a failure.
func (d *Daemon) record(o outcome) bool {
	log := d.log.With().Str(logging.KeyDir, o.dir).Logger()
	switch {
	case o.err == nil:
		d.metrics.uploaded.Inc()
		d.metrics.bytes.Add(float64(o.res.Bytes))
		d.metrics.seconds.Observe(o.dur.Seconds())
		if n := o.res.Unplayable(); n > 0 {
			d.metrics.unplayable.Add(float64(n))
		}
		log.Info().Int64("bytes", o.res.Bytes).Str(logging.KeyManifest, o.res.ManifestKey).Dur("took", o.dur).Msg("recording finalized")
		return false
	case errors.Is(o.err, finalize.ErrLocked):
		if d.busy.first(o.dir) {
			log.Info().Msg("another finalizer holds the recording; leaving it to it (retrying with backoff)")
		}
		return false
	case errors.Is(o.err, finalize.ErrUsage):
		log.Info().Err(o.err).Msg("nothing to finalize")
		return false
	}
	reason := finalize.Reason(o.err)
	d.metrics.failed.WithLabelValues(reason).Inc()
	log.Error().Err(o.err).Str("reason", reason).Msg("finalize failed; recording kept for a retry")
	return true
}

// observe updates the state gauges and task protection.
func (d *Daemon) observe(ctx context.Context, entries []inventory.Entry, inflight int) {
	counts := inventory.Counts(entries)
	for _, s := range allStates {
		d.metrics.recordings.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	var oldest time.Duration
	now := time.Now()
	unsafe := inflight > 0 || (d.jibriKnown && d.jibri.IsBusy())
	for _, e := range entries {
		switch e.State {
		case inventory.Pending, inventory.Failed, inventory.Stuck:
			oldest = max(oldest, e.Age(now))
		}
		if e.Unsafe() && !d.opts.ProtectOwn {
			unsafe = true
		}
	}
	d.metrics.oldestPending.Set(oldest.Seconds())
	if d.protect == nil {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.protect.Want(pctx, unsafe); err != nil {
		d.log.Warn().Err(err).Bool("want", unsafe).Msg("cannot update ECS task protection")
	}
	if d.protect.Protected() {
		d.metrics.protected.Set(1)
	} else {
		d.metrics.protected.Set(0)
	}
}

// beat refreshes the heartbeat; the loop does it, so a hung loop stops
// beating and the hook stops handing off to it.
func (d *Daemon) beat() {
	if err := recdir.WriteHeartbeat(d.opts.Root, d.opts.Heartbeat, time.Now()); err != nil && d.heartbeatOK {
		d.log.Warn().Err(err).Msg("cannot write the heartbeat: the hook will not hand recordings off")
		d.heartbeatOK = false
	} else if err == nil {
		d.heartbeatOK = true
	}
}

func (d *Daemon) withdraw() {
	if err := recdir.RemoveHeartbeat(d.opts.Root); err != nil {
		d.log.Warn().Err(err).Msg("cannot remove the heartbeat")
	}
}

// scanFailed counts a failed scan of the root and logs the first of a run
// of failures, then one in a hundred.
func (d *Daemon) scanFailed(err error) {
	d.metrics.scanErrors.Inc()
	if d.scanErrs%100 == 0 {
		d.log.Error().Err(err).Int("failures_in_a_row", d.scanErrs+1).Msg("cannot scan recordings root; task protection kept as it was")
	}
	d.scanErrs++
}

func (d *Daemon) scanOK() {
	if d.scanErrs > 0 {
		d.log.Info().Int("failures_in_a_row", d.scanErrs).Msg("recordings root readable again")
	}
	d.scanErrs = 0
}

// pollJibri asks Jibri for its status, keeps the last known one when it
// does not answer (a failed observation is not an idle recorder), and
// emits the recorder gauges once a minute.
func (d *Daemon) pollJibri(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := d.opts.Jibri.Get(pctx)
	idle := 0.0
	switch {
	case err != nil:
		if d.jibriErrs%30 == 0 {
			d.log.Warn().Err(err).Msg("cannot read jibri's status; counted as not idle")
		}
		d.jibriErrs++
	default:
		if d.jibriErrs > 0 || !d.jibriKnown || st != d.jibri {
			d.log.Info().Str("busy_status", st.BusyStatus).Bool("healthy", st.Healthy).Msg("jibri status")
		}
		d.jibri, d.jibriKnown, d.jibriErrs = st, true, 0
		if st.IsIdle() {
			idle = 1
		}
	}
	d.metrics.jibriIdle.Set(idle)
	if time.Since(d.lastGauge) < time.Minute || d.emf == nil {
		return
	}
	d.lastGauge = time.Now()
	doc, err := metrics.Gauges(d.opts.Namespace, d.opts.Environment, d.lastGauge, map[string]float64{"IdleRecorders": idle, "Recorders": 1})
	if err == nil {
		err = d.emf.Emit(doc)
	}
	if err != nil {
		d.log.Warn().Err(err).Msg("cannot emit the recorder gauges")
	}
}

func (d *Daemon) checkS3(ctx context.Context) {
	if d.probe == nil {
		d.s3ok.Store(true)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := d.probe(pctx)
	if err != nil && d.s3ok.Load() {
		d.log.Warn().Err(err).Msg("s3 is not reachable")
	}
	d.s3ok.Store(err == nil)
}
