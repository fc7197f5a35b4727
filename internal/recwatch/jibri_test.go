package recwatch

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/inventory"
	"github.com/jitsi-recorder/jibri-s3/internal/jibristatus"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
)

// fakeJibri answers with whatever status the test sets.
type fakeJibri struct {
	mu sync.Mutex
	st jibristatus.Status
}

func (f *fakeJibri) set(busy string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st = jibristatus.Status{BusyStatus: busy, Healthy: true}
}

func (f *fakeJibri) Get(context.Context) (jibristatus.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st, nil
}

// With scope own (recordings on a shared volume), the task is protected
// while its Jibri records, not for every pending recording on the volume;
// with scope all, pending recordings keep it protected.
func TestProtectionFollowsJibri(t *testing.T) {
	for _, own := range []bool{true, false} {
		root := t.TempDir()
		recording(t, root, "someone-elses", 100, true, true)
		j := &fakeJibri{}
		j.set(jibristatus.Busy)
		p := &wantLog{}
		var emf, logs bytes.Buffer
		d := New(Options{Root: root, Rescan: 20 * time.Millisecond, Jibri: j, JibriPoll: 20 * time.Millisecond, ProtectOwn: own,
			Namespace: "Jitsi/Recordings", Environment: "test",
			Policy: inventory.Policy{Settle: time.Hour, Orphan: time.Hour, MaxAttempts: 5, RetryBase: time.Second, RetryMax: time.Minute}},
			&lockedFinalizer{}, zerolog.New(&lockedWriter{w: &logs}), NewMetrics(), p, &metrics.WriterSink{W: &lockedWriter{w: &emf}}, nil)
		stop := start(d)
		waitFor(t, 2*time.Second, "protection while jibri records", p.Protected)
		j.set(jibristatus.Idle)
		if own {
			// Only a recording of the shared volume is left: released.
			waitFor(t, 2*time.Second, "release with jibri idle", func() bool { return !p.Protected() })
		} else {
			time.Sleep(300 * time.Millisecond)
			if !p.Protected() {
				t.Errorf("scope all: protection released with a recording on the volume: %v", p.snapshot())
			}
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(emf.String(), `"IdleRecorders":0`) || !strings.Contains(emf.String(), `"Recorders":1`) {
			t.Errorf("no recorder gauge: %s", emf.String())
		}
	}
}
