package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/event"
	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/outbox"
	"github.com/jitsi-recorder/jibri-s3/internal/secrets"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook/webhooktest"
)

const secret = "whsec_outbox_test"

// clock is the controllable time of a test: the receiver is down for
// "minutes" of it, without a minute of real sleep.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newEvent(t *testing.T, session string, now time.Time) *event.Event {
	t.Helper()
	m := &manifest.Manifest{
		Recording: manifest.Recording{SessionID: session, Room: "room-" + session, StartedAt: now.Add(-time.Hour)},
		Bucket:    "recordings",
		Files: []manifest.File{{Name: "a.mp4", Key: "rec/" + session + "/a.mp4", Size: 1234, ContentType: "video/mp4",
			ChecksumAlgorithm: "CRC32C", Checksum: "AAAAAA==", VersionID: "v-" + session}},
	}
	e, err := event.Build(m, event.Commit{ManifestKey: "rec/" + session + "/manifest.json", ManifestVersion: "mv1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type setup struct {
	root string
	box  *outbox.Outbox
	clk  *clock
	d    *outbox.Deliverer
	recv []*webhooktest.Receiver
}

func newSetup(t *testing.T, receivers int, timeout time.Duration) *setup {
	s := &setup{root: t.TempDir(), clk: &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}}
	s.box = outbox.Open(s.root)
	var eps []webhook.Endpoint
	for i := 0; i < receivers; i++ {
		r := webhooktest.Start(t, secret)
		s.recv = append(s.recv, r)
		ep, err := webhook.ParseEndpoint(r.URL)
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	c := webhook.NewClient(secrets.NewValue(secret), timeout)
	s.d = &outbox.Deliverer{Outbox: s.box, Endpoints: eps, Sender: c,
		Policy: webhook.Policy{Base: 10 * time.Second, Max: time.Hour, GiveUp: 72 * time.Hour, Rand: func() float64 { return 0.5 }},
		Now:    s.clk.Now, Log: zerolog.Nop()}
	return s
}

func (s *setup) enqueue(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		e := newEvent(t, fmt.Sprintf("s%03d", i), s.clk.Now())
		if err := s.box.Enqueue(e, s.clk.Now()); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	return ids
}

func (s *setup) pass(t *testing.T) outbox.Stats {
	t.Helper()
	st, err := s.d.Pass(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// row is one line of the delivery fault table.
type row struct{ in, delivered, duplicates, lost, badSigs int }

// tally compares what the receiver accepted with the events queued, and
// checks that every request of an event carried its one id.
func tally(t *testing.T, r *webhooktest.Receiver, ids []string) row {
	t.Helper()
	acc := r.Accepted()
	out := row{in: len(ids), badSigs: r.BadSignatures()}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
		switch n := acc[id]; {
		case n == 0:
			out.lost++
		default:
			out.delivered++
			out.duplicates += n - 1
		}
	}
	for _, d := range r.Deliveries() {
		var body struct{ ID string }
		if err := json.Unmarshal(d.Body, &body); err != nil || body.ID != d.ID || !want[d.ID] {
			t.Errorf("a request with id %q carried body id %q", d.ID, body.ID)
		}
	}
	return out
}

func (s *setup) empty(t *testing.T) {
	t.Helper()
	ids, err := s.box.IDs()
	if err != nil || len(ids) != 0 {
		t.Fatalf("outbox still holds %v (%v)", ids, err)
	}
	left, _ := filepath.Glob(filepath.Join(s.box.Dir(), "*"))
	if len(left) != 0 {
		t.Fatalf("outbox directory still holds %v", left)
	}
}

func TestReceiverDownThenUp(t *testing.T) {
	s := newSetup(t, 1, 2*time.Second)
	r := s.recv[0]
	r.Down()
	ids := s.enqueue(t, 5)
	// Down for 20 minutes of the test clock, a pass every 30 s.
	for i := 0; i < 40; i++ {
		st := s.pass(t)
		if st.Delivered != 0 || st.Pending != 5 {
			t.Fatalf("pass %d while down: %+v", i, st)
		}
		s.clk.Add(30 * time.Second)
	}
	list, _ := s.box.List()
	for _, l := range list {
		for _, tg := range l.Targets {
			// 10s, 20s, 40s... capped: about 7 attempts in 20 minutes, not 40.
			if tg.Attempts < 5 || tg.Attempts > 9 || tg.LastError == "" {
				t.Fatalf("attempts while down: %+v", tg)
			}
		}
	}
	r.Up()
	upAt := s.clk.Now()
	for s.pass(t).Pending > 0 {
		s.clk.Add(30 * time.Second)
	}
	// Delivered within the backoff reached (about 10 min), not an hour.
	if waited := s.clk.Now().Sub(upAt); waited > 15*time.Minute {
		t.Fatalf("delivered %s after the receiver came back", waited)
	}
	got := tally(t, r, ids)
	if got != (row{in: 5, delivered: 5}) {
		t.Fatalf("%+v", got)
	}
	s.empty(t)
	logRow(t, "receiver down 20 min (test clock), then up", got)
}

func TestReceiver500s(t *testing.T) {
	s := newSetup(t, 1, 2*time.Second)
	r := s.recv[0]
	r.Fail(500, 12)
	ids := s.enqueue(t, 4)
	for i := 0; i < 30 && s.pass(t).Pending > 0; i++ {
		s.clk.Add(5 * time.Minute)
	}
	got := tally(t, r, ids)
	if got != (row{in: 4, delivered: 4}) {
		t.Fatalf("%+v", got)
	}
	if n := len(r.Deliveries()); n != 16 {
		t.Fatalf("%d requests, want 12 refused and 4 accepted", n)
	}
	s.empty(t)
	logRow(t, "receiver answers 500 to 12 requests", got)
}

func TestReceiverSlow(t *testing.T) {
	s := newSetup(t, 1, 150*time.Millisecond)
	r := s.recv[0]
	r.Slow(400 * time.Millisecond) // longer than the sender waits
	ids := s.enqueue(t, 3)
	st := s.pass(t)
	if st.Failed != 3 || st.Pending != 3 {
		t.Fatalf("slow pass: %+v", st)
	}
	time.Sleep(500 * time.Millisecond) // the receiver finishes the answers nobody waits for
	r.Slow(0)
	s.clk.Add(time.Minute)
	if st := s.pass(t); st.Delivered != 3 || st.Pending != 0 {
		t.Fatalf("after: %+v", st)
	}
	got := tally(t, r, ids)
	// The receiver processed the first, timed-out attempts too: at least
	// once means duplicates here, each with the event's one id.
	if got.in != 3 || got.delivered != 3 || got.lost != 0 || got.duplicates > 3 {
		t.Fatalf("%+v", got)
	}
	s.empty(t)
	logRow(t, "receiver slower than --webhook-timeout", got)
}

func TestGoneStops(t *testing.T) {
	s := newSetup(t, 2, 2*time.Second)
	s.recv[0].Fail(410, 1)
	s.recv[1].Fail(500, 1)
	ids := s.enqueue(t, 1)
	st := s.pass(t)
	if st.Gone != 1 || st.Failed != 1 || st.Pending != 1 {
		t.Fatalf("%+v", st)
	}
	s.clk.Add(time.Minute)
	st = s.pass(t)
	if st.Delivered != 1 || st.Pending != 0 {
		t.Fatalf("%+v", st)
	}
	if n := len(s.recv[0].Deliveries()); n != 1 {
		t.Fatalf("the 410 endpoint got %d requests, want 1", n)
	}
	if got := tally(t, s.recv[1], ids); got.delivered != 1 {
		t.Fatalf("%+v", got)
	}
	s.empty(t)
}

// TestDeadLetter: past the give-up age the event is not sent again, not
// deleted, and counted; a longer give-up age revives it.
func TestDeadLetter(t *testing.T) {
	s := newSetup(t, 1, 2*time.Second)
	r := s.recv[0]
	r.Down()
	ids := s.enqueue(t, 1)
	for i := 0; i < 80; i++ { // 80 hours
		s.pass(t)
		s.clk.Add(time.Hour)
	}
	r.Up()
	st := s.pass(t)
	if st.Pending != 1 || st.Dead != 1 || st.Delivered != 0 || len(r.Deliveries()) != 0 {
		t.Fatalf("%+v", st)
	}
	if !st.Oldest.Equal(s.clk.Now().Add(-80 * time.Hour)) {
		t.Fatalf("oldest %s", st.Oldest)
	}
	list, _ := s.box.List()
	if len(list) != 1 || list[0].ID != ids[0] {
		t.Fatalf("%+v", list)
	}
	for _, tg := range list[0].Targets {
		if tg.Attempts < 72 || tg.Attempts > 80 { // one an hour once capped
			t.Fatalf("attempts %d in 72 h", tg.Attempts)
		}
	}
	s.d.Policy.GiveUp = 30 * 24 * time.Hour
	if st := s.pass(t); st.Delivered != 1 || st.Pending != 0 {
		t.Fatalf("revived: %+v", st)
	}
	s.empty(t)
}

// TestEnqueueAgainKeepsState: a re-run that commits the same objects
// again queues the same id; the delivery state stays.
func TestEnqueueAgainKeepsState(t *testing.T) {
	s := newSetup(t, 1, 2*time.Second)
	s.recv[0].Fail(500, 1)
	e := newEvent(t, "again", s.clk.Now())
	if err := s.box.Enqueue(e, s.clk.Now()); err != nil {
		t.Fatal(err)
	}
	s.pass(t)
	s.clk.Add(time.Hour)
	e2 := newEvent(t, "again", s.clk.Now())
	e2.Manifest.VersionID = "mv2"
	if err := s.box.Enqueue(e2, s.clk.Now()); err != nil {
		t.Fatal(err)
	}
	list, _ := s.box.List()
	if len(list) != 1 || e2.ID != e.ID || !list[0].QueuedAt.Equal(s.clk.Now().Add(-time.Hour)) {
		t.Fatalf("%+v", list)
	}
	for _, tg := range list[0].Targets {
		if tg.Attempts != 1 {
			t.Fatalf("%+v", tg)
		}
	}
	s.pass(t)
	ds := s.recv[0].Deliveries()
	if len(ds) != 2 || ds[1].Attempt != "2" {
		t.Fatalf("%+v", ds)
	}
	var got event.Event
	if err := json.Unmarshal(ds[1].Body, &got); err != nil || got.Manifest.VersionID != "mv2" {
		t.Fatalf("the new body was not sent: %v %+v", err, got.Manifest)
	}
}

// TestTwoDeliverers: the hook and the watcher deliver from one outbox at
// once; every event arrives, none is sent by both at the same time.
func TestTwoDeliverers(t *testing.T) {
	s := newSetup(t, 1, 2*time.Second)
	s.recv[0].Slow(20 * time.Millisecond)
	ids := s.enqueue(t, 20)
	other := *s.d
	var wg sync.WaitGroup
	for _, d := range []*outbox.Deliverer{s.d, &other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Pass(context.Background(), ""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got := tally(t, s.recv[0], ids)
	if got != (row{in: 20, delivered: 20}) {
		t.Fatalf("%+v", got)
	}
	s.empty(t)
}

// TestCorruptKept: an unreadable file is listed, counted, never removed.
func TestCorruptKept(t *testing.T) {
	s := newSetup(t, 1, 2*time.Second)
	s.enqueue(t, 1)
	bad := filepath.Join(s.box.Dir(), "evt_0123456789abcdef0123456789abcdef.json")
	if err := os.WriteFile(bad, []byte(`{"torn`), 0o644); err != nil {
		t.Fatal(err)
	}
	st := s.pass(t)
	if st.Delivered != 1 || st.Pending != 1 || st.Corrupt != 1 {
		t.Fatalf("%+v", st)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Fatal(err)
	}
	list, _ := s.box.List()
	if len(list) != 1 || list[0].Err == nil {
		t.Fatalf("%+v", list)
	}
}

func logRow(t *testing.T, name string, r row) {
	t.Logf("ROW | %s | in %d | delivered %d | duplicates %d | lost %d | bad signatures %d | same id: yes", name, r.in, r.delivered, r.duplicates, r.lost, r.badSigs)
}

func TestStatusTable(t *testing.T) {
	s := newSetup(t, 1, 2*time.Second)
	s.recv[0].Down()
	ids := s.enqueue(t, 2)
	s.pass(t)
	s.clk.Add(80 * time.Hour)
	s.enqueue(t, 3) // s000, s001 again (same ids, state kept) and s002, new
	list, err := s.box.List()
	if err != nil {
		t.Fatal(err)
	}
	st := outbox.Describe(list, s.d.Policy, s.clk.Now())
	states := map[string]string{}
	for _, x := range st {
		states[x.ID] = x.State
	}
	if len(st) != 3 || states[ids[0]] != "dead" || states[ids[1]] != "dead" {
		t.Fatalf("%+v", st)
	}
	var b strings.Builder
	if err := outbox.WriteTable(&b, s.box.Dir(), s.clk.Now(), st); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "3 undelivered event(s)") || !strings.Contains(out, "queued") || !strings.Contains(out, "past the give-up age") || strings.Contains(out, "receiver-token") {
		t.Fatalf("%s", out)
	}
	b.Reset()
	if err := outbox.WriteJSON(&b, s.box.Dir(), s.clk.Now(), st); err != nil || !json.Valid([]byte(b.String())) {
		t.Fatalf("%v %s", err, b.String())
	}
}
