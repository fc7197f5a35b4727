package webhook

import (
	"math/rand/v2"
	"time"
)

// Policy is when to try again: the delay before attempt n+1 grows as
// Base*2^(n-1), capped at Max, with jitter (a random value between half
// of it and all of it), and attempts stop GiveUp after the event was
// queued; the event then stays in the outbox as a dead letter.
type Policy struct {
	Base   time.Duration
	Max    time.Duration
	GiveUp time.Duration
	// Rand returns a value in [0, 1); math/rand/v2 when nil.
	Rand func() float64
}

// Defaults of the policy: attempts after about 10s, 20s, 40s... then
// every 30 to 60 minutes, for 3 days.
const (
	DefaultBase   = 10 * time.Second
	DefaultMax    = time.Hour
	DefaultGiveUp = 72 * time.Hour
)

// DefaultPolicy returns the defaults.
func DefaultPolicy() Policy {
	return Policy{Base: DefaultBase, Max: DefaultMax, GiveUp: DefaultGiveUp}
}

// Delay returns the wait after the n-th failed attempt (n >= 1), at least
// the receiver's Retry-After (after) when that is within Max.
func (p Policy) Delay(n int, after time.Duration) time.Duration {
	base, limit := p.Base, p.Max
	if base <= 0 {
		base = DefaultBase
	}
	if limit < base {
		limit = base
	}
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	r := rand.Float64
	if p.Rand != nil {
		r = p.Rand
	}
	d = d/2 + time.Duration(r()*float64(d/2))
	if after > d && after <= limit {
		d = after
	}
	return d
}

// Expired reports whether an event queued at queued is past the give-up
// age at now.
func (p Policy) Expired(queued, now time.Time) bool {
	g := p.GiveUp
	if g <= 0 {
		g = DefaultGiveUp
	}
	return now.Sub(queued) > g
}
