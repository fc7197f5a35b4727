package finalize

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRetry(t *testing.T) {
	boom, fatal := errors.New("transient"), errors.New("permanent")
	tests := []struct {
		name  string
		errs  []error // what each attempt returns; the last repeats
		stop  error   // the error that stops at once
		calls int
		want  error
	}{
		{"success first", []error{nil}, fatal, 1, nil},
		{"transient then success", []error{boom, boom, nil}, fatal, 3, nil},
		{"transient every time", []error{boom}, fatal, 4, boom},
		{"permanent stops at once", []error{boom, fatal}, fatal, 2, fatal},
	}
	for _, tt := range tests {
		b := Backoff{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond}
		calls, waits := 0, 0
		err := b.retry(context.Background(), func(int, time.Duration) { waits++ }, func() (bool, error) {
			err := tt.errs[min(calls, len(tt.errs)-1)]
			calls++
			return errors.Is(err, tt.stop), err
		})
		if calls != tt.calls || !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) || waits != calls-1 {
			t.Errorf("%s: %d calls, %d waits, %v", tt.name, calls, waits, err)
		}
	}
	// A context that ends during a wait stops the retries with the last error.
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Backoff{Attempts: 5, Base: time.Hour, Max: time.Hour}.retry(ctx, func(int, time.Duration) { cancel() }, func() (bool, error) {
		calls++
		return false, boom
	})
	if calls != 1 || !errors.Is(err, boom) {
		t.Errorf("cancelled: %d calls, %v", calls, err)
	}
}

func TestDelayIsEqualJitter(t *testing.T) {
	b := Backoff{Attempts: 9, Base: time.Second, Max: 8 * time.Second}
	for n := 1; n <= 6; n++ {
		full := min(b.Base<<(n-1), b.Max)
		for i := 0; i < 50; i++ {
			if d := b.delay(n); d < full/2 || d > full {
				t.Fatalf("delay(%d) = %s, want within [%s, %s]", n, d, full/2, full)
			}
		}
	}
}
