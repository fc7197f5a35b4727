package recwatch

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/outbox"
)

// EventDeliverer delivers the events in the outbox of the root
// (outbox.Deliverer).
type EventDeliverer interface {
	Pass(ctx context.Context, only string) (outbox.Stats, error)
}

// eventPassMax is the longest the watcher waits between two passes over
// the outbox: how late it finds an event the hook (another process) could
// not deliver. One its own finalize run queued wakes it at once.
const eventPassMax = 10 * time.Second

// eventMetrics are the Prometheus series of the webhook outbox.
type eventMetrics struct {
	delivered prometheus.Counter
	failed    prometheus.Counter
	pending   prometheus.Gauge
	oldest    prometheus.Gauge
	dead      prometheus.Gauge
}

func newEventMetrics(reg prometheus.Registerer) eventMetrics {
	m := eventMetrics{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "jibri_events_delivered_total",
			Help: "Recording events delivered to a webhook (2xx), one per event and webhook, by this watcher."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "jibri_events_failed_total",
			Help: "Webhook delivery attempts that failed (refused, timed out, non-2xx other than 410) and will be retried."}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "jibri_events_pending",
			Help: "Events in the outbox not yet delivered to every webhook, dead letters and unreadable files included."}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{Name: "jibri_events_oldest_pending_seconds",
			Help: "Age of the oldest undelivered event in the outbox; 0 when none."}),
		dead: prometheus.NewGauge(prometheus.GaugeOpts{Name: "jibri_events_dead_letters",
			Help: "Undelivered events past the give-up age: no more attempts, kept in the outbox until an operator handles them."}),
	}
	reg.MustRegister(m.delivered, m.failed, m.pending, m.oldest, m.dead)
	return m
}

// deliverEvents passes over the outbox until stop ends: at once, then when
// an attempt is due, when wake says a recording was committed, and at
// least every eventPassMax. Attempts run under abort, like uploads.
func (d *Daemon) deliverEvents(stop, abort context.Context, wake <-chan struct{}) {
	for {
		d.eventPass(abort)
		wait := eventPassMax
		if at := d.eventsNext; !at.IsZero() {
			wait = min(max(time.Until(at), time.Second), eventPassMax)
		}
		t := time.NewTimer(wait)
		select {
		case <-stop.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// eventPass makes the due attempts and publishes the counts. A pass that
// cannot read the outbox keeps the last gauges (a failed observation is
// not an empty outbox).
func (d *Daemon) eventPass(ctx context.Context) {
	st, err := d.opts.Events.Pass(ctx, "")
	m := d.metrics.events
	m.delivered.Add(float64(st.Delivered))
	m.failed.Add(float64(st.Failed))
	if err != nil {
		d.log.Warn().Err(err).Msg("cannot read the event outbox; event gauges kept as they were")
		return
	}
	oldest := 0.0
	if !st.Oldest.IsZero() {
		oldest = time.Since(st.Oldest).Seconds()
	}
	m.pending.Set(float64(st.Pending))
	m.oldest.Set(oldest)
	m.dead.Set(float64(st.Dead))
	d.eventsNext = st.NextAt
	if d.emf == nil || st.Delivered == 0 && st.Failed == 0 && time.Since(d.eventsEMF) < time.Minute {
		return // the gauges once a minute while nothing happens
	}
	d.eventsEMF = time.Now()
	doc, err := metrics.Events(d.opts.Namespace, d.opts.Environment, d.eventsEMF, metrics.EventCounts{Delivered: st.Delivered, Failed: st.Failed,
		Gauges: true, Pending: st.Pending, OldestPendingSeconds: oldest})
	if err == nil {
		err = d.emf.Emit(doc)
	}
	if err != nil {
		d.log.Warn().Err(err).Msg("cannot emit the event metrics")
	}
}
