package upload

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestEach(t *testing.T) {
	items := []int{1, 2, 3, 4, 5, 6, 7, 8}
	t.Run("bounded", func(t *testing.T) {
		var now, peak atomic.Int32
		release := make(chan struct{})
		go func() {
			for i := 0; i < len(items); i++ {
				release <- struct{}{}
			}
		}()
		err := each(context.Background(), items, 3, nil, func(ctx context.Context, i int) error {
			n := now.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			now.Add(-1)
			return nil
		})
		if err != nil || peak.Load() > 3 {
			t.Fatalf("err %v, peak %d in flight (limit 3)", err, peak.Load())
		}
	})
	t.Run("admit stops the loop, started items finish", func(t *testing.T) {
		stop := errors.New("hand off")
		var done atomic.Int32
		err := each(context.Background(), items, 2, func(i int) error {
			if i == 4 {
				return stop
			}
			return nil
		}, func(ctx context.Context, i int) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			done.Add(1)
			return nil
		})
		if !errors.Is(err, stop) || done.Load() != 3 {
			t.Fatalf("err %v, %d done, want the admit error and 3 done", err, done.Load())
		}
	})
	t.Run("an error cancels the rest", func(t *testing.T) {
		boom := errors.New("boom")
		var started atomic.Int32
		err := each(context.Background(), items, 1, nil, func(ctx context.Context, i int) error {
			started.Add(1)
			if i == 2 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) || started.Load() != 2 {
			t.Fatalf("err %v, %d started, want boom after 2", err, started.Load())
		}
	})
}
