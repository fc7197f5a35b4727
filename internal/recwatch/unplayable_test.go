package recwatch

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/finalize"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
)

// TestUnplayableFromHook: the unplayable files finalize reports in its EMF
// records (the hook's runs) count in jibri_recordings_unplayable_total,
// which is exported from the start (0) with its help text.
func TestUnplayableFromHook(t *testing.T) {
	d := &Daemon{metrics: NewMetrics()}
	if n, err := testutil.GatherAndCount(d.metrics.Registry, "jibri_recordings_unplayable_total"); err != nil || n != 1 {
		t.Fatalf("series exported %d times before any recording (%v), want once", n, err)
	}
	for _, r := range []metrics.Record{
		{Outcome: metrics.OutcomeSuccess, Files: 2, Unplayable: 2},
		{Outcome: metrics.OutcomeSuccess, Files: 1},
		{Outcome: metrics.OutcomeHandedOff, HandedOff: true, Files: 1},
	} {
		doc, err := r.EMF("", "test", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		d.observeHook(doc)
	}
	if got := testutil.ToFloat64(d.metrics.unplayable); got != 2 {
		t.Fatalf("jibri_recordings_unplayable_total = %v, want 2", got)
	}
	mfs, err := d.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "jibri_recordings_unplayable_total" && !strings.HasPrefix(mf.GetHelp(), "Recording files committed to S3 that no player can open") {
			t.Fatalf("help text %q", mf.GetHelp())
		}
	}
}

// TestUnplayableFromOwnRuns: the unplayable files of a recording recwatch
// finalized itself count too (the hook's are counted from its EMF).
func TestUnplayableFromOwnRuns(t *testing.T) {
	d := &Daemon{metrics: NewMetrics(), log: zerolog.Nop()}
	res := &finalize.Result{Files: []finalize.FileResult{{Name: "a.mp4", Unplayable: "no moov box"}, {Name: "b.mp4"}, {Name: "c.mp4", Unplayable: "no mdat box"}}}
	if retry := d.record(outcome{dir: "/r/x", res: res}); retry {
		t.Fatal("a committed recording is retried")
	}
	d.record(outcome{dir: "/r/y", res: &finalize.Result{Files: []finalize.FileResult{{Name: "d.mp4"}}}})
	if got := testutil.ToFloat64(d.metrics.unplayable); got != 2 {
		t.Fatalf("jibri_recordings_unplayable_total = %v, want 2", got)
	}
}
