package app

import (
	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/config"
	"github.com/jitsi-recorder/jibri-s3/internal/finalize"
	"github.com/jitsi-recorder/jibri-s3/internal/outbox"
	"github.com/jitsi-recorder/jibri-s3/internal/presign"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook"
)

// events returns where the runner queues the events of committed
// recordings: the outbox of the recording's root, when a webhook is
// configured.
func events(cfg config.Config) finalize.Events {
	if len(cfg.Events.Endpoints) == 0 {
		return nil
	}
	return outbox.Roots{}
}

// Deliverer returns the deliverer of root's outbox for the configured
// webhooks, or nil when none is configured.
func (p *Pipeline) Deliverer(cfg config.Config, root string, log zerolog.Logger) *outbox.Deliverer {
	if len(cfg.Events.Endpoints) == 0 {
		return nil
	}
	d := &outbox.Deliverer{
		Outbox: outbox.Open(root), Endpoints: cfg.Events.Endpoints,
		Sender: webhook.NewClient(cfg.Events.Key, cfg.Events.Timeout),
		Policy: cfg.Events.Policy(), Log: log.With().Str("component", "events").Logger(),
	}
	if cfg.Events.LinkExpiry > 0 {
		d.Links = presign.Linker{P: presign.New(p.Client, p.Client.Options().Credentials), Expiry: cfg.Events.LinkExpiry}
	}
	return d
}
