package recwatch

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/jitsi-recorder/jibri-s3/internal/inventory"
)

// Metrics are the Prometheus series of the daemon, on their own registry.
// Labels are low-cardinality only (state, reason).
type Metrics struct {
	Registry      *prometheus.Registry
	uploaded      prometheus.Counter
	failed        *prometheus.CounterVec
	bytes         prometheus.Counter
	seconds       prometheus.Histogram
	recordings    *prometheus.GaugeVec
	oldestPending prometheus.Gauge
	freeBytes     prometheus.Gauge
	diskLow       prometheus.Gauge
	protected     prometheus.Gauge
	shipped       prometheus.Counter
	scanErrors    prometheus.Counter
	jibriIdle     prometheus.Gauge
	handedOff     prometheus.Counter
	pickedUp      prometheus.Counter
	holdSeconds   prometheus.Histogram
	unplayable    prometheus.Counter
	events        eventMetrics
}

// NewMetrics registers every series.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		uploaded: prometheus.NewCounter(prometheus.CounterOpts{Name: "jibri_recordings_uploaded_total",
			Help: "Recordings uploaded, verified and committed by this watcher."}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jibri_recordings_failed_total",
			Help: "Failed finalize attempts by this watcher, by reason (upload, verify, deadline, permanent, changed, cleanup)."}, []string{"reason"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "jibri_upload_bytes_total",
			Help: "Bytes of media uploaded and verified by this watcher."}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "jibri_upload_seconds",
			Help:    "Time to upload, verify and commit one recording.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600}}),
		recordings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jibri_recordings",
			Help: "Recording directories on disk by state (recording, settling, pending, uploading, failed, stuck, kept, done, invalid, unreadable)."}, []string{"state"}),
		oldestPending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "jibri_oldest_pending_age_seconds",
			Help: "Age of the oldest recording not yet uploaded (pending, failed or stuck); 0 when none."}),
		freeBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "jibri_recordings_free_disk_bytes",
			Help: "Free bytes on the recordings volume."}),
		diskLow: prometheus.NewGauge(prometheus.GaugeOpts{Name: "jibri_recordings_disk_low",
			Help: "1 when free space on the recordings volume is under the warning threshold."}),
		protected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "jibri_task_protection_enabled",
			Help: "1 while ECS task scale-in protection is held for recordings on disk."}),
		shipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "jibri_emf_records_shipped_total",
			Help: "EMF records that finalize left in the spool and this watcher printed."}),
		jibriIdle: prometheus.NewGauge(prometheus.GaugeOpts{Name: "jibri_recorder_idle",
			Help: "1 while the Jibri of this task is idle and healthy (can take a recording); 0 when busy, unhealthy or not answering."}),
		handedOff: prometheus.NewCounter(prometheus.CounterOpts{Name: "jibri_handoffs_total",
			Help: "Recordings the hook handed off to the watcher within its hold (from finalize's metric records)."}),
		pickedUp: prometheus.NewCounter(prometheus.CounterOpts{Name: "jibri_handoffs_continued_total",
			Help: "Handed-off recordings this watcher continued."}),
		holdSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "jibri_hook_hold_seconds",
			Help:    "How long finalize, run as Jibri's hook, held Jibri (from finalize's metric records).",
			Buckets: []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600}}),
		unplayable: prometheus.NewCounter(prometheus.CounterOpts{Name: "jibri_recordings_unplayable_total",
			Help: "Recording files committed to S3 that no player can open (an MP4 without its moov index: ffmpeg killed before it finished), uploaded and verified as they are; by this watcher's runs and from finalize's metric records."}),
		scanErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "jibri_recordings_scan_errors_total",
			Help: "Scans of the recordings root that failed (task protection and gauges then keep their last values)."}),
	}
	m.Registry.MustRegister(m.uploaded, m.failed, m.bytes, m.seconds, m.recordings, m.oldestPending,
		m.freeBytes, m.diskLow, m.protected, m.shipped, m.scanErrors, m.jibriIdle, m.handedOff, m.pickedUp, m.holdSeconds, m.unplayable,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.events = newEventMetrics(m.Registry)
	for _, s := range allStates {
		m.recordings.WithLabelValues(string(s))
	}
	for _, r := range []string{"upload", "verify", "deadline", "permanent", "changed", "cleanup"} {
		m.failed.WithLabelValues(r) // export zeros, so rates and alerts work from the start
	}
	return m
}

var allStates = inventory.States
