package throttle

import (
	"context"
	"time"
)

// bucket is a token bucket: it holds up to burst tokens (bytes) and gains
// rate tokens per second. It is used by one goroutine.
type bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
}

func newBucket(rate int64, burst int) *bucket {
	return &bucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst), last: time.Now(), now: time.Now, sleep: sleepCtx}
}

// take removes n tokens, waiting until the bucket has gained them; it
// returns early with ctx's error when ctx ends.
func (b *bucket) take(ctx context.Context, n int) error {
	now := b.now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return nil
	}
	wait := time.Duration(-b.tokens / b.rate * float64(time.Second))
	return b.sleep(ctx, wait)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
