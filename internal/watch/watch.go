// Package watch turns filesystem events under the recordings root into
// wake-ups for the watcher's scheduler. It watches the root and every
// session directory (new ones get a watch as they appear). Events are only
// hints: the scheduler rescans and decides from what is on disk, so a
// dropped event (queue overflow) or a volume that emits none only delays
// work until the next periodic rescan.
package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// Watcher delivers wake-ups.
type Watcher struct {
	root string
	fsw  *fsnotify.Watcher
	log  zerolog.Logger
}

// New watches root and its current session directories. Call it before the
// first scan, so nothing that happens between the scan and the watch is
// missed.
func New(root string, log zerolog.Logger) (*Watcher, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{root: root, fsw: fsw, log: log}
	if err := fsw.Add(root); err != nil {
		fsw.Close()
		return nil, fmt.Errorf("watch: cannot watch %s: %w", root, err)
	}
	des, err := os.ReadDir(root)
	if err != nil {
		fsw.Close()
		return nil, fmt.Errorf("watch: cannot list %s: %w", root, err)
	}
	for _, de := range des {
		if de.IsDir() && !strings.HasPrefix(de.Name(), ".") {
			w.add(filepath.Join(root, de.Name()))
		}
	}
	return w, nil
}

func (w *Watcher) add(dir string) {
	if err := w.fsw.Add(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		w.log.Warn().Err(err).Str("dir", dir).Msg("cannot watch directory; periodic rescans cover it")
	}
}

// Run forwards events as non-blocking sends on wake until ctx ends.
func (w *Watcher) Run(ctx context.Context, wake chan<- struct{}) {
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if filepath.Dir(ev.Name) == w.root && strings.HasPrefix(filepath.Base(ev.Name), ".") {
				continue // our own files in the root: heartbeat, metrics spool
			}
			if ev.Has(fsnotify.Create) && filepath.Dir(ev.Name) == w.root && !strings.HasPrefix(filepath.Base(ev.Name), ".") {
				if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
					w.add(ev.Name)
				}
			}
			notify()
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			// Overflow and friends: events were lost; a rescan finds everything.
			w.log.Warn().Err(err).Msg("filesystem events lost; rescanning")
			notify()
		}
	}
}

// Close stops watching.
func (w *Watcher) Close() error { return w.fsw.Close() }
