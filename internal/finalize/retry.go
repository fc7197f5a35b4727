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

// delay returns the delay before attempt n+1 (n >= 1): "equal jitter",
// half of the capped exponential delay plus a random part of the other half.
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

// retry runs op up to b.Attempts times, waiting delay(n) before attempt
// n+1. It stops at once when op reports stop (a permanent error) or when ctx
// ends during a wait, and returns op's last error (nil on success).
// onRetry, when set, is told of each wait.
func (b Backoff) retry(ctx context.Context, onRetry func(try int, d time.Duration), op func() (stop bool, err error)) error {
	var err error
	for try := 1; try <= max(b.Attempts, 1); try++ {
		if try > 1 {
			d := b.delay(try - 1)
			if onRetry != nil {
				onRetry(try, d)
			}
			if sleep(ctx, d) != nil {
				return err
			}
		}
		var stop bool
		if stop, err = op(); err == nil || stop {
			return err
		}
	}
	return err
}
