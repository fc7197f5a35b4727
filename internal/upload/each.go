package upload

import (
	"context"
	"sync"
)

// each runs do for every item, at most conc at a time, in order of start.
// admit, when set, is asked before an item starts: its error stops the
// loop without cancelling the items in flight, which finish (a hand-off
// lets started parts complete). The first error of do cancels the context
// of the others. each returns the first error, or the context's.
func each[T any](ctx context.Context, items []T, conc int, admit func(T) error, do func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	fail := func(err error, stop bool) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
			if stop {
				cancel()
			}
		}
	}
	sem := make(chan struct{}, max(conc, 1))
	for _, it := range items {
		if admit != nil {
			if err := admit(it); err != nil {
				fail(err, false)
				break
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(it T) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := do(ctx, it); err != nil {
				fail(err, true)
			}
		}(it)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}
