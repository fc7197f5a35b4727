package recwatch

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/event"
	"github.com/jitsi-recorder/jibri-s3/internal/inventory"
	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/outbox"
	"github.com/jitsi-recorder/jibri-s3/internal/secrets"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook/webhooktest"
)

// TestEventsOnceAndMetrics: the watcher delivers what is in the outbox,
// counts failed attempts and what is left, and publishes the EMF gauges.
func TestEventsOnceAndMetrics(t *testing.T) {
	root := t.TempDir()
	box := outbox.Open(root)
	for _, s := range []string{"one", "two"} {
		m := &manifest.Manifest{Recording: manifest.Recording{SessionID: s}, Bucket: "b",
			Files: []manifest.File{{Name: "a.mp4", Key: s + "/a.mp4", Size: 1, ChecksumAlgorithm: "CRC32C", Checksum: "AAAAAA==", ContentType: "video/mp4"}}}
		ev, err := event.Build(m, event.Commit{ManifestKey: s + "/manifest.json"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := box.Enqueue(ev, time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	recv := webhooktest.Start(t, "k")
	recv.Fail(500, 1)
	ep, _ := webhook.ParseEndpoint(recv.URL)
	dl := &outbox.Deliverer{Outbox: box, Endpoints: []webhook.Endpoint{ep}, Sender: webhook.NewClient(secrets.NewValue("k"), time.Second),
		Policy: webhook.Policy{Base: time.Hour, Max: time.Hour, GiveUp: 72 * time.Hour}, Log: zerolog.Nop()}
	var emf bytes.Buffer
	d := New(Options{Root: root, Policy: inventory.DefaultPolicy(), Once: true, Events: dl}, nil, zerolog.Nop(), NewMetrics(), nil, &metrics.WriterSink{W: &emf}, nil)
	if err := d.Run(context.Background(), context.Background()); err != nil {
		t.Fatal(err)
	}
	m := d.metrics.events
	if testutil.ToFloat64(m.delivered) != 1 || testutil.ToFloat64(m.failed) != 1 || testutil.ToFloat64(m.pending) != 1 || testutil.ToFloat64(m.oldest) < 59 {
		t.Fatalf("delivered %v failed %v pending %v oldest %v", testutil.ToFloat64(m.delivered), testutil.ToFloat64(m.failed), testutil.ToFloat64(m.pending), testutil.ToFloat64(m.oldest))
	}
	if s := emf.String(); !strings.Contains(s, `"EventsPending":1`) || !strings.Contains(s, `"EventsDelivered":1`) || !strings.Contains(s, `"EventsFailed":1`) {
		t.Fatalf("emf: %s", s)
	}
	for _, name := range []string{"jibri_events_delivered_total", "jibri_events_failed_total", "jibri_events_pending", "jibri_events_oldest_pending_seconds", "jibri_events_dead_letters"} {
		if n, err := testutil.GatherAndCount(d.metrics.Registry, name); err != nil || n != 1 {
			t.Errorf("%s: %d %v", name, n, err)
		}
	}
}
