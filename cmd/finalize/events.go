package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/app"
	"github.com/jitsi-recorder/jibri-s3/internal/config"
	"github.com/jitsi-recorder/jibri-s3/internal/failpoint"
	"github.com/jitsi-recorder/jibri-s3/internal/finalize"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
)

// deliverNow makes one attempt at the event this run queued, within
// --webhook-timeout, after the local files are gone: the recording never
// waits for it. What does not get through stays in the outbox for recwatch.
func deliverNow(ctx context.Context, cfg config.Config, p *app.Pipeline, res *finalize.Result, log zerolog.Logger, sink metrics.Sink, getenv func(string) string) {
	if res == nil || res.EventID == "" {
		return
	}
	if fp := failpoint.FromEnv(getenv); fp != nil {
		fp("before-deliver") // fault tests: committed and cleaned up, not delivered
	}
	d := p.Deliverer(cfg, filepath.Dir(res.Dir), log)
	if d == nil {
		return
	}
	bctx, cancel := context.WithTimeout(ctx, cfg.Events.Timeout)
	defer cancel()
	st, err := d.Pass(bctx, res.EventID)
	switch {
	case err != nil:
		log.Warn().Err(err).Str("event_id", res.EventID).Msg("cannot deliver the event now; recwatch delivers it from the outbox")
	case st.Pending > 0:
		log.Info().Str("event_id", res.EventID).Msg("event not delivered yet; recwatch delivers it from the outbox")
	}
	if doc, err := metrics.Events(cfg.Namespace, cfg.Environment, time.Now(), metrics.EventCounts{Delivered: st.Delivered, Failed: st.Failed}); err == nil {
		_ = sink.Emit(doc)
	}
}
