package finalize

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the per-recording retry policy on top of the SDK's own
// per-request retries.
type Backoff struct {
	Attempts int           // attempts per run (>= 1)
	Base     time.Duration // first delay
	Max      time.Duration // cap
}

// delay returns the full-jitter delay before attempt n+1 (n >= 1).
func (b Backoff) delay(n int) time.Duration {
	d := b.Base << (n - 1)
	if d <= 0 || d > b.Max {
		d = b.Max
	}
	return time.Duration(rand.Int64N(int64(d)/2+1)) + d/2
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
