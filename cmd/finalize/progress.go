package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/units"
)

// progress prints one updating line per file on a terminal: bytes, rate and
// ETA. It is only used with the console log format on a terminal; JSON mode
// prints none.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	file  string
	start time.Time
	last  time.Time
	every time.Duration
}

func newProgress(w io.Writer) *progress { return &progress{w: w, every: 250 * time.Millisecond} }

func (p *progress) update(file string, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if file != p.file {
		if p.file != "" {
			fmt.Fprintln(p.w)
		}
		p.file, p.start, p.last = file, now, time.Time{}
	}
	if now.Sub(p.last) < p.every && done < total {
		return
	}
	p.last = now
	done = min(done, total)
	elapsed := now.Sub(p.start).Seconds()
	rate := float64(done) / max(elapsed, 0.001)
	eta := "-"
	if rate > 0 && done < total {
		eta = (time.Duration(float64(total-done)/rate) * time.Second / time.Second).Round(time.Second).String()
	}
	pct := 100.0
	if total > 0 {
		pct = float64(done) * 100 / float64(total)
	}
	fmt.Fprintf(p.w, "\r%s: %5.1f%% %s / %s  %s/s  eta %s   ", file, pct, units.Bytes(done), units.Bytes(total), units.Bytes(int64(rate)), eta)
	if done >= total {
		fmt.Fprintln(p.w)
		p.file = ""
	}
}
