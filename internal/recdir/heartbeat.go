package recdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Heartbeat is what a live watcher leaves in the recordings root. It
// counts only while fresh: a watcher that crashed or hangs stops
// refreshing it, and within Stale it no longer counts, so the hook never
// hands a recording to a watcher that is not there.
type Heartbeat struct {
	PID      int       `json:"pid"`
	Host     string    `json:"host"`
	Interval float64   `json:"interval_seconds"`
	Updated  time.Time `json:"updated"`
}

// Stale is how many intervals a heartbeat stays fresh.
const Stale = 3

// WriteHeartbeat refreshes the heartbeat of root (atomically: temp file,
// rename; no fsync, it is worth nothing after a crash).
func WriteHeartbeat(root string, interval time.Duration, now time.Time) error {
	host, _ := os.Hostname()
	b, err := json.Marshal(Heartbeat{PID: os.Getpid(), Host: host, Interval: interval.Seconds(), Updated: now.UTC()})
	if err != nil {
		return fmt.Errorf("recdir: %w", err)
	}
	tmp := filepath.Join(root, HeartbeatFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("recdir: cannot write the heartbeat: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(root, HeartbeatFile)); err != nil {
		return fmt.Errorf("recdir: cannot write the heartbeat: %w", err)
	}
	return nil
}

// RemoveHeartbeat withdraws the heartbeat (the watcher is stopping).
func RemoveHeartbeat(root string) error {
	err := os.Remove(filepath.Join(root, HeartbeatFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// LiveWatcher reports whether a watcher's heartbeat in root is fresh at now:
// written less than Stale intervals ago, by the content and by the file's
// modification time alike (a copied or restored file does not count).
func LiveWatcher(root string, now time.Time) (Heartbeat, bool) {
	p := filepath.Join(root, HeartbeatFile)
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return Heartbeat{}, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > 4096 {
		return Heartbeat{}, false
	}
	var hb Heartbeat
	if err := json.NewDecoder(f).Decode(&hb); err != nil || hb.Interval <= 0 {
		return Heartbeat{}, false
	}
	window := time.Duration(hb.Interval * Stale * float64(time.Second))
	fresh := func(t time.Time) bool { d := now.Sub(t); return d < window && d > -window }
	return hb, fresh(hb.Updated) && fresh(fi.ModTime())
}
