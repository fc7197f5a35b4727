package confwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/jvbstats"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/protect"
	"github.com/rs/zerolog"
)

// colibri is the bridge's private HTTP server: /colibri/stats answers with
// the current conference count (or fails), /colibri/shutdown records the
// request and, like JVB in graceful shutdown, lets conferences run on.
type colibri struct {
	t *testing.T

	mu           sync.Mutex
	conferences  int
	participants int
	fail         bool // stats answer 500
	shutdowns    []bool
	refuse       bool // shutdown answers 503
	onStats      func(c *colibri)
}

func (c *colibri) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch r.URL.Path {
	case "/colibri/stats":
		if c.onStats != nil {
			c.onStats(c)
		}
		if c.fail {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, `{"conferences":%d,"participants":%d,"graceful_shutdown":%t}`, c.conferences, c.participants, len(c.shutdowns) > 0)
	case "/colibri/shutdown":
		var body struct {
			Graceful bool `json:"graceful-shutdown"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			c.t.Errorf("shutdown body: %v", err)
		}
		c.shutdowns = append(c.shutdowns, body.Graceful)
		if c.refuse {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	default:
		c.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

func (c *colibri) set(conferences, participants int, fail bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conferences, c.participants, c.fail = conferences, participants, fail
}

// agent is the ECS agent's task protection endpoint; it records every
// requested state and answers like the agent.
type agent struct {
	mu     sync.Mutex
	states []bool
}

func (a *agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || r.URL.Path != "/task-protection/v1/state" {
		http.NotFound(w, r)
		return
	}
	var body struct{ ProtectionEnabled bool }
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &body)
	a.mu.Lock()
	a.states = append(a.states, body.ProtectionEnabled)
	a.mu.Unlock()
	fmt.Fprintf(w, `{"protection":{"ProtectionEnabled":%t,"TaskArn":"arn:aws:ecs:eu-west-1:123456789012:task/c/1"}}`, body.ProtectionEnabled)
}

func (a *agent) got() []bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]bool(nil), a.states...)
}

type memSink struct {
	mu   sync.Mutex
	docs []map[string]any
}

func (s *memSink) Emit(doc []byte) error {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return err
	}
	s.mu.Lock()
	s.docs = append(s.docs, m)
	s.mu.Unlock()
	return nil
}

var _ metrics.Sink = (*memSink)(nil)

type rig struct {
	bridge *colibri
	agent  *agent
	sink   *memSink
	w      *Watcher
	clock  time.Time
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	r := &rig{bridge: &colibri{t: t}, agent: &agent{}, sink: &memSink{}, clock: time.Unix(1_800_000_000, 0)}
	bsrv := httptest.NewServer(r.bridge)
	t.Cleanup(bsrv.Close)
	asrv := httptest.NewServer(r.agent)
	t.Cleanup(asrv.Close)
	log := zerolog.Nop()
	keeper := protect.NewKeeper(protect.New(asrv.URL, asrv.Client(), log), time.Hour, log)
	client := jvbstats.New(bsrv.URL+"/colibri/stats", bsrv.URL+"/colibri/shutdown", bsrv.Client())
	w, err := New(cfg, client, keeper, r.sink, log)
	if err != nil {
		t.Fatal(err)
	}
	w.now = func() time.Time { return r.clock }
	r.w = w
	return r
}

func fastConfig() Config {
	c := DefaultConfig()
	c.Interval = 5 * time.Millisecond
	c.MetricsInterval = time.Minute
	c.DrainTimeout = 2 * time.Second
	c.Environment = "prod"
	return c
}

// One step per row: what the bridge says, and the protection requests the
// agent must have received after it (cumulative).
func TestProtectionFollowsConferences(t *testing.T) {
	type step struct {
		conferences int
		fail        bool
		wantStates  []bool
		wantErr     bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "idle bridge releases once (a previous run may have left protection on)", steps: []step{
			{conferences: 0, wantStates: []bool{false}},
			{conferences: 0, wantStates: []bool{false}},
		}},
		{name: "a conference protects, its end releases", steps: []step{
			{conferences: 0, wantStates: []bool{false}},
			{conferences: 2, wantStates: []bool{false, true}},
			{conferences: 1, wantStates: []bool{false, true}},
			{conferences: 0, wantStates: []bool{false, true, false}},
		}},
		{name: "an unreadable bridge keeps protection", steps: []step{
			{conferences: 1, wantStates: []bool{true}},
			{fail: true, wantStates: []bool{true}, wantErr: true},
			{fail: true, wantStates: []bool{true}, wantErr: true},
			{conferences: 0, wantStates: []bool{true, false}},
		}},
		{name: "never read: no protection request at all", steps: []step{
			{fail: true, wantStates: nil, wantErr: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, fastConfig())
			for i, s := range tt.steps {
				r.bridge.set(s.conferences, 3*s.conferences, s.fail)
				err := r.w.Step(context.Background())
				if (err != nil) != s.wantErr {
					t.Fatalf("step %d: error %v, want error %t", i, err, s.wantErr)
				}
				if got := r.agent.got(); fmt.Sprint(got) != fmt.Sprint(s.wantStates) {
					t.Fatalf("step %d: agent got %v, want %v", i, got, s.wantStates)
				}
			}
		})
	}
}

func TestGaugesOncePerInterval(t *testing.T) {
	r := newRig(t, fastConfig())
	r.bridge.set(2, 7, false)
	mustStep(t, r) // first read: a document at once
	r.bridge.set(5, 20, false)
	r.clock = r.clock.Add(30 * time.Second)
	mustStep(t, r) // within the interval: no document
	r.bridge.set(1, 2, false)
	r.clock = r.clock.Add(31 * time.Second)
	mustStep(t, r) // past it: one document with the last and the highest values

	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	if len(r.sink.docs) != 2 {
		t.Fatalf("%d documents, want 2", len(r.sink.docs))
	}
	want := []map[string]float64{
		{"Conferences": 2, "Participants": 7, "MaxConferences": 2, "MaxParticipants": 7},
		{"Conferences": 1, "Participants": 2, "MaxConferences": 5, "MaxParticipants": 20},
	}
	for i, doc := range r.sink.docs {
		for k, v := range want[i] {
			if doc[k] != v {
				t.Errorf("document %d: %s = %v, want %v", i, k, doc[k], v)
			}
		}
		if doc["Environment"] != "prod" {
			t.Errorf("document %d: Environment = %v", i, doc["Environment"])
		}
		aws := doc["_aws"].(map[string]any)
		cwm := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
		if cwm["Namespace"] != "Jitsi/JVB" {
			t.Errorf("document %d: namespace %v", i, cwm["Namespace"])
		}
		if fmt.Sprint(cwm["Dimensions"]) != "[[Environment]]" {
			t.Errorf("document %d: dimensions %v, want [[Environment]] only", i, cwm["Dimensions"])
		}
	}
}

func TestNoGaugesWithoutARead(t *testing.T) {
	r := newRig(t, fastConfig())
	r.bridge.set(0, 0, true)
	for range 3 {
		_ = r.w.Step(context.Background())
		r.clock = r.clock.Add(2 * time.Minute)
	}
	r.sink.mu.Lock()
	defer r.sink.mu.Unlock()
	if len(r.sink.docs) != 0 {
		t.Fatalf("%d documents from a bridge never read, want none (missing data, not zero)", len(r.sink.docs))
	}
}

func mustStep(t *testing.T, r *rig) {
	t.Helper()
	if err := r.w.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestDrain(t *testing.T) {
	tests := []struct {
		name        string
		conferences int
		endAfter    int  // stats reads after the shutdown request until the conferences end; -1 never
		refuse      bool // the bridge refuses the shutdown request
		timeout     time.Duration
		wantErr     error
	}{
		{name: "idle bridge", conferences: 0, endAfter: 0, timeout: time.Second},
		{name: "waits for the last conference", conferences: 2, endAfter: 3, timeout: 5 * time.Second},
		{name: "deadline with conferences running", conferences: 1, endAfter: -1, timeout: 50 * time.Millisecond, wantErr: ErrDrainTimeout},
		{name: "refused while conferences run", conferences: 1, endAfter: -1, refuse: true, timeout: time.Second, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, fastConfig())
			r.bridge.set(tt.conferences, tt.conferences, false)
			r.bridge.refuse = tt.refuse
			reads := 0
			r.bridge.onStats = func(c *colibri) {
				if len(c.shutdowns) == 0 {
					return
				}
				reads++
				if tt.endAfter >= 0 && reads > tt.endAfter {
					c.conferences = 0
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			err := r.w.Drain(ctx)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Drain: %v", err)
			case tt.wantErr == errAny && err == nil:
				t.Fatal("Drain succeeded, want an error")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("Drain: %v, want %v", err, tt.wantErr)
			}
			r.bridge.mu.Lock()
			defer r.bridge.mu.Unlock()
			if fmt.Sprint(r.bridge.shutdowns) != "[true]" {
				t.Fatalf("shutdown requests %v, want one graceful", r.bridge.shutdowns)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestDrainBridgeGone(t *testing.T) {
	r := newRig(t, fastConfig())
	r.bridge.set(1, 1, false)
	r.bridge.onStats = func(c *colibri) {
		if len(c.shutdowns) > 0 {
			c.fail = true // JVB exited after its graceful shutdown: nothing answers
		}
	}
	if err := r.w.Drain(context.Background()); err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

// Run: protection follows the bridge, and cancelling drains.
func TestRun(t *testing.T) {
	r := newRig(t, fastConfig())
	r.bridge.set(1, 4, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.w.Run(ctx) }()

	waitFor(t, func() bool { return fmt.Sprint(r.agent.got()) == "[true]" })
	r.bridge.mu.Lock()
	r.bridge.onStats = func(c *colibri) {
		if len(c.shutdowns) > 0 {
			c.conferences = 0
		}
	}
	r.bridge.mu.Unlock()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	r.bridge.mu.Lock()
	defer r.bridge.mu.Unlock()
	if fmt.Sprint(r.bridge.shutdowns) != "[true]" {
		t.Fatalf("shutdown requests %v, want one graceful", r.bridge.shutdowns)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{name: "default", change: func(*Config) {}, ok: true},
		{name: "zero interval", change: func(c *Config) { c.Interval = 0 }},
		{name: "metrics faster than reads", change: func(c *Config) { c.MetricsInterval = time.Second }},
		{name: "negative drain", change: func(c *Config) { c.DrainTimeout = -time.Second }},
		{name: "no namespace", change: func(c *Config) { c.Namespace = "" }},
		{name: "no environment", change: func(c *Config) { c.Environment = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate: %v, want ok %t", err, tt.ok)
			}
		})
	}
}

func TestEMFIsOneLine(t *testing.T) {
	doc, err := Gauges{Conferences: 1}.EMF("Jitsi/JVB", "prod", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsRune(doc, '\n') || !strings.HasPrefix(string(doc), "{") {
		t.Fatalf("EMF document %q must be one JSON line", doc)
	}
}
