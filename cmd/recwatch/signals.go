package main

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/lock"
)

// drainOnSignal turns signals into the watcher's two contexts: stop ends
// with the first signal (no new work), abort with the drain deadline after
// it or with a second signal (in-flight uploads are cancelled and stay on
// disk, retryable). cancel releases both.
func drainOnSignal(sigs <-chan os.Signal, drain time.Duration, log zerolog.Logger) (stop, abort context.Context, cancel func()) {
	stop, stopCancel := context.WithCancel(context.Background())
	abort, abortCancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-sigs:
		case <-stop.Done():
			return
		}
		log.Info().Dur("drain_timeout", drain).Msg("signal received: draining")
		stopCancel()
		t := time.AfterFunc(drain, func() {
			log.Warn().Msg("drain timeout: aborting uploads (recordings stay on disk)")
			abortCancel()
		})
		defer t.Stop()
		select {
		case <-sigs:
			log.Warn().Msg("second signal: aborting uploads (recordings stay on disk)")
			abortCancel()
		case <-abort.Done():
		}
	}()
	return stop, abort, func() { stopCancel(); abortCancel() }
}

// isLocked is the status command's probe of a recording's lock.
func isLocked(dir string) bool { return lock.IsLocked(dir) }
