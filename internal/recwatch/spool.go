package recwatch

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jitsi-recorder/jibri-s3/internal/units"
)

// ship prints the EMF lines finalize appended to the spool. The spool is
// renamed first, so finalize's next append creates a fresh file; a crash
// between rename and removal leaves the ".shipping" file, shipped next time
// (at-least-once).
func (d *Daemon) ship() {
	if d.opts.Spool == "" || d.emf == nil {
		return
	}
	n, err := shipSpool(d.opts.Spool, func(line []byte) error {
		d.observeHook(line)
		return d.emf.Emit(line)
	})
	d.metrics.shipped.Add(float64(n))
	if err != nil {
		d.log.Warn().Err(err).Msg("cannot ship finalize metrics")
	}
}

// observeHook feeds the hook's hold time, hand-offs and unplayable files,
// as finalize reported them in its EMF records, into the Prometheus series.
func (d *Daemon) observeHook(line []byte) {
	var rec struct {
		HookSeconds float64
		HandedOff   int
		Unplayable  int
	}
	if json.Unmarshal(line, &rec) != nil {
		return
	}
	if rec.HookSeconds > 0 {
		d.metrics.holdSeconds.Observe(rec.HookSeconds)
	}
	if rec.HandedOff > 0 {
		d.metrics.handedOff.Inc()
	}
	if rec.Unplayable > 0 {
		d.metrics.unplayable.Add(float64(rec.Unplayable))
	}
}

func shipSpool(path string, emit func([]byte) error) (int, error) {
	shipping := path + ".shipping"
	if _, err := os.Stat(shipping); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(path, shipping); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return 0, nil
			}
			return 0, fmt.Errorf("spool: cannot rotate %s: %w", path, err)
		}
		// A finalize that opened the spool just before the rename finishes its
		// single write within microseconds.
		time.Sleep(50 * time.Millisecond)
	}
	f, err := os.Open(shipping)
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Bytes()
		if !json.Valid(line) {
			continue // a torn line from a crash; never print garbage
		}
		if err := emit(append([]byte(nil), line...)); err != nil {
			return n, err
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("spool: %w", err)
	}
	return n, os.Remove(shipping)
}

// checkDisk sets the free-space gauge and warns when it is low.
func (d *Daemon) checkDisk() {
	var st unix.Statfs_t
	if err := unix.Statfs(d.opts.Root, &st); err != nil {
		d.log.Warn().Err(err).Msg("cannot read free disk space")
		return
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	d.metrics.freeBytes.Set(float64(free))
	low := d.opts.FreeWarnBytes > 0 && free < d.opts.FreeWarnBytes
	if low {
		d.metrics.diskLow.Set(1)
		if !d.lowDisk || time.Since(d.lastWarn) > 10*time.Minute {
			d.log.Warn().Str("free", units.Bytes(free)).Str("threshold", units.Bytes(d.opts.FreeWarnBytes)).
				Msg("recordings volume is low on free space")
			d.lastWarn = time.Now()
		}
	} else {
		d.metrics.diskLow.Set(0)
	}
	d.lowDisk = low
}
