package faults

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/event"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/outbox"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook/webhooktest"
)

const eventSecret = "whsec_faults_events"

// eventRow is one line of the delivery fault table.
type eventRow struct {
	fault                                string
	in, delivered, duplicates, lost      int
	sameID                               bool
	mediaLeft, badSignatures, outboxLeft int
}

// TestEventDeliveryFaults runs the real binaries against MinIO and a real
// receiver that verifies every signature: finalize killed at each point
// between the commit and the delivery, the receiver down, answering 500 or
// slowly, and the watcher restarted. Every event is delivered at least
// once with one id, and no media waits on disk for it.
func TestEventDeliveryFaults(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	h := &harness{srv: srv, bucket: srv.Bucket(t, "recordings"), client: srv.Client(t)}
	h.proxy = newProxy(srv.Endpoint)
	defer h.proxy.close()
	var rows []eventRow
	for _, tc := range []struct {
		name string
		f    func(t *testing.T, h *harness) eventRow
	}{
		{"kill9 after-manifest", func(t *testing.T, h *harness) eventRow {
			return killBeforeDelivery(t, h, "after-manifest", "kill -9 after the manifest is stored, before the event is queued")
		}},
		{"kill9 after-enqueue", func(t *testing.T, h *harness) eventRow {
			return killBeforeDelivery(t, h, "after-enqueue", "kill -9 after the event is queued, before the commit is recorded")
		}},
		{"kill9 before-deliver", func(t *testing.T, h *harness) eventRow {
			return killBeforeDelivery(t, h, "before-deliver", "kill -9 between commit (files deleted) and delivery")
		}},
		{"receiver down then up", receiverDown},
		{"receiver 500s", receiver500},
		{"receiver slow", receiverSlow},
		{"recwatch restart", recwatchRestart},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.f(t, h)
			if r.lost != 0 || !r.sameID || r.mediaLeft != 0 || r.badSignatures != 0 || r.outboxLeft != 0 {
				t.Errorf("%+v", r)
			}
			rows = append(rows, r)
		})
	}
	var b strings.Builder
	fmt.Fprintln(&b, "| fault | events in | delivered | duplicates | lost | same idempotency key | media left on disk |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		same := "yes"
		if !r.sameID {
			same = "NO"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %d |\n", r.fault, r.in, r.delivered, r.duplicates, r.lost, same, r.mediaLeft)
	}
	t.Log("\n" + b.String())
	if p := os.Getenv("EVENTS_FAULTS_REPORT"); p != "" {
		_ = os.WriteFile(p, []byte(b.String()), 0o644)
	}
}

// eventEnv is the environment with one webhook to r and short retries.
func (h *harness) eventEnv(t *testing.T, r *webhooktest.Receiver, extra ...string) []string {
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	if err := os.WriteFile(secretFile, []byte(eventSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return h.env(append([]string{
		"JIBRI_UPLOAD_WEBHOOK=" + r.URL,
		"JIBRI_UPLOAD_WEBHOOK_SECRET_FILE=" + secretFile,
		"JIBRI_UPLOAD_WEBHOOK_TIMEOUT=1s",
		"JIBRI_UPLOAD_WEBHOOK_RETRY_BASE=200ms",
		"JIBRI_UPLOAD_WEBHOOK_RETRY_MAX=1s",
		"JIBRI_UPLOAD_LINK_EXPIRY=1h",
		"JIBRI_UPLOAD_HOLD=0",
	}, extra...)...)
}

func watcherArgs(root string) []string {
	return []string{"--root", root, "--listen", "127.0.0.1:0", "--heartbeat", "500ms", "--settle", "1s", "--retry-after", "1s", "--rescan", "1s"}
}

// tallyEvents compares the events the receiver accepted with the recordings.
func tallyEvents(t *testing.T, h *harness, fault string, r *webhooktest.Receiver, recs ...*recFixture) eventRow {
	t.Helper()
	row := eventRow{fault: fault, in: len(recs), sameID: true, badSignatures: r.BadSignatures()}
	acc := r.Accepted()
	ids := map[string]map[string]bool{} // session -> ids seen in any request
	for _, d := range r.Deliveries() {
		ev, err := event.Decode(d.Body)
		if err != nil {
			t.Errorf("delivered body is not an event: %v", err)
			continue
		}
		if ids[ev.Recording.SessionID] == nil {
			ids[ev.Recording.SessionID] = map[string]bool{}
		}
		ids[ev.Recording.SessionID][d.ID] = true
		for _, o := range ev.Objects {
			if o.Link == nil || o.Link.ExpiresAt.Before(time.Now().Add(50*time.Minute)) {
				t.Errorf("object %s: link %+v", o.Key, o.Link)
			}
		}
	}
	for _, rec := range recs {
		seen := ids[rec.session]
		if len(seen) > 1 {
			row.sameID = false
		}
		n := 0
		for id := range seen {
			n += acc[id]
		}
		if n == 0 {
			row.lost++
		} else {
			row.delivered++
			row.duplicates += n - 1
		}
		if entries, err := os.ReadDir(rec.dir); err == nil {
			for _, e := range entries {
				if _, ok := rec.sums[e.Name()]; ok {
					row.mediaLeft++
				}
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if len(recs) > 0 {
		ids, _ := outbox.Open(recs[0].root).IDs()
		row.outboxLeft = len(ids)
	}
	return row
}

func waitDelivered(t *testing.T, r *webhooktest.Receiver, n int, within time.Duration) {
	t.Helper()
	waitUntil(t, within, fmt.Sprintf("%d event(s) accepted by the receiver", n), func() bool { return len(r.Accepted()) >= n })
}

func waitOutboxEmpty(t *testing.T, root string, within time.Duration) {
	t.Helper()
	waitUntil(t, within, "the outbox to be empty", func() bool {
		ids, err := outbox.Open(root).IDs()
		return err == nil && len(ids) == 0
	})
}

// killBeforeDelivery kills finalize at fp; the watcher then finalizes
// what is left and delivers.
func killBeforeDelivery(t *testing.T, h *harness, fp, fault string) eventRow {
	r := webhooktest.Start(t, eventSecret)
	root := t.TempDir()
	rec := newRecording(t, root, "ev-"+fp, map[string]int64{mediaName: 6 << 20}, `{"meeting_url":"https://meet.example.com/acme/ev?jwt=SECRET","share":true}`)
	env := h.eventEnv(t, r)
	res := run(t, finalizeBin, append(env, "JIBRI_UPLOAD_FAILPOINT="+fp), nil, rec.dir)
	if res.code != 128+9 {
		t.Fatalf("finalize at %s: exit %d, want killed\n%s", fp, res.code, res.stderr)
	}
	if n := len(r.Deliveries()); n != 0 {
		t.Fatalf("delivered before the kill: %d", n)
	}
	w := startProc(t, recwatchBin, env, nil, watcherArgs(root)...)
	waitDelivered(t, r, 1, 60*time.Second)
	waitUntil(t, 60*time.Second, "the recording to be finalized", func() bool {
		_, err := os.Stat(filepath.Join(rec.dir, mediaName))
		return errors.Is(err, os.ErrNotExist)
	})
	waitOutboxEmpty(t, root, 30*time.Second)
	w.stop(t)
	return tallyEvents(t, h, fault, r, rec)
}

// receiverDownFor is how long the receiver stays down: minutes, as an
// outage of a real receiver lasts, with the retries at their cap.
const receiverDownFor = 2 * time.Minute

// receiverDown: the receiver is down while three recordings are
// finalized (each finalize exits at once, files deleted), then up; the
// watcher delivers.
func receiverDown(t *testing.T, h *harness) eventRow {
	r := webhooktest.Start(t, eventSecret)
	r.Down()
	root := t.TempDir()
	// Retries back off to every 5 s (the last value of a variable wins).
	env := h.eventEnv(t, r, "JIBRI_UPLOAD_WEBHOOK_RETRY_MAX=5s")
	var recs []*recFixture
	for i := 0; i < 3; i++ {
		rec := newRecording(t, root, fmt.Sprintf("down-%d", i), map[string]int64{mediaName: 1 << 20}, "")
		if res := run(t, finalizeBin, env, nil, rec.dir); res.code != 0 {
			t.Fatalf("finalize: %d %s", res.code, res.stderr)
		}
		recs = append(recs, rec)
	}
	w := startProc(t, recwatchBin, env, nil, watcherArgs(root)...)
	time.Sleep(receiverDownFor) // the watcher retries against the closed port
	st := run(t, recwatchBin, env, nil, "status", "--events", root)
	if !strings.Contains(st.stdout, "3 undelivered event(s)") || !strings.Contains(st.stdout, "retrying") {
		t.Fatalf("status while down:\n%s", st.stdout)
	}
	r.Up()
	waitDelivered(t, r, 3, 30*time.Second)
	waitOutboxEmpty(t, root, 30*time.Second)
	w.stop(t)
	return tallyEvents(t, h, fmt.Sprintf("receiver down for %v (retries backing off to 5 s), then up", receiverDownFor), r, recs...)
}

func receiver500(t *testing.T, h *harness) eventRow {
	r := webhooktest.Start(t, eventSecret)
	r.Fail(500, 8)
	root := t.TempDir()
	env := h.eventEnv(t, r)
	w := startProc(t, recwatchBin, env, nil, watcherArgs(root)...)
	var recs []*recFixture
	for i := 0; i < 3; i++ {
		rec := newRecording(t, root, fmt.Sprintf("e500-%d", i), map[string]int64{mediaName: 1 << 20}, "")
		if res := run(t, finalizeBin, env, nil, rec.dir); res.code != 0 {
			t.Fatalf("finalize: %d %s", res.code, res.stderr)
		}
		recs = append(recs, rec)
	}
	waitDelivered(t, r, 3, 60*time.Second)
	waitOutboxEmpty(t, root, 30*time.Second)
	w.stop(t)
	return tallyEvents(t, h, "receiver answers 500 to the first 8 requests", r, recs...)
}

func receiverSlow(t *testing.T, h *harness) eventRow {
	r := webhooktest.Start(t, eventSecret)
	r.Slow(1500 * time.Millisecond) // over the 1 s timeout
	root := t.TempDir()
	env := h.eventEnv(t, r)
	rec := newRecording(t, root, "slow", map[string]int64{mediaName: 1 << 20}, "")
	start := time.Now()
	if res := run(t, finalizeBin, env, nil, rec.dir); res.code != 0 {
		t.Fatalf("finalize: %d %s", res.code, res.stderr)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("finalize took %s with a slow receiver", took)
	}
	w := startProc(t, recwatchBin, env, nil, watcherArgs(root)...)
	time.Sleep(3 * time.Second)
	r.Slow(0)
	waitOutboxEmpty(t, root, 30*time.Second)
	w.stop(t)
	return tallyEvents(t, h, "receiver slower than --webhook-timeout for 3 s", r, rec)
}

// recwatchRestart: the watcher is killed while events are pending and
// started again.
func recwatchRestart(t *testing.T, h *harness) eventRow {
	r := webhooktest.Start(t, eventSecret)
	r.Fail(503, 1000)
	root := t.TempDir()
	env := h.eventEnv(t, r)
	var recs []*recFixture
	for i := 0; i < 2; i++ {
		rec := newRecording(t, root, fmt.Sprintf("restart-%d", i), map[string]int64{mediaName: 1 << 20}, "")
		if res := run(t, finalizeBin, env, nil, rec.dir); res.code != 0 {
			t.Fatalf("finalize: %d %s", res.code, res.stderr)
		}
		recs = append(recs, rec)
	}
	w := startProc(t, recwatchBin, env, nil, watcherArgs(root)...)
	time.Sleep(2 * time.Second)
	w.cmd.Process.Kill()
	<-w.done
	r.Fail(0, 0)
	w = startProc(t, recwatchBin, env, nil, watcherArgs(root)...)
	waitDelivered(t, r, 2, 30*time.Second)
	waitOutboxEmpty(t, root, 30*time.Second)
	w.stop(t)
	return tallyEvents(t, h, "recwatch kill -9 while events pending, restarted", r, recs...)
}
