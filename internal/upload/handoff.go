package upload

import (
	"errors"
	"sync"
	"time"
)

// ErrHandOff reports an upload stopped at Object.HandOffAt: nothing is
// wrong, the parts stored so far stay for the run that continues it.
var ErrHandOff = errors.New("upload: handed off: no new part started")

// holdGate admits a part only if it can be expected to finish before the
// hand-off time: now plus the longest time a part of this upload has
// taken so far. So parts in flight at the hand-off are few and end about
// when it is due, and none is cut off and sent again.
type holdGate struct {
	at time.Time

	mu      sync.Mutex
	started map[int]time.Time
	longest time.Duration
}

func newHoldGate(at time.Time) *holdGate {
	if at.IsZero() {
		return nil
	}
	return &holdGate{at: at, started: map[int]time.Time{}}
}

// admit lets part start now, or refuses it with ErrHandOff. A nil gate
// admits everything.
func (g *holdGate) admit(part int) error {
	if g == nil {
		return nil
	}
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !now.Add(g.longest).Before(g.at) {
		return ErrHandOff
	}
	g.started[part] = now
	return nil
}

// done records that part finished.
func (g *holdGate) done(part int) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.started[part]; ok {
		g.longest = max(g.longest, time.Since(t))
		delete(g.started, part)
	}
}

// due reports whether the hand-off time has come.
func (g *holdGate) due() bool { return g != nil && !time.Now().Before(g.at) }
