package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/secrets"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook"
)

// Events are the webhook settings: where the event of each committed
// recording goes, how it is signed, and how long it is retried.
type Events struct {
	Webhooks   urlList
	Secret     secretFlag
	SecretFile string
	Timeout    time.Duration
	LinkExpiry time.Duration
	RetryBase  time.Duration
	RetryMax   time.Duration
	GiveUp     time.Duration

	// Derived by Validate.
	Endpoints []webhook.Endpoint
	Key       secrets.Value // the signing secret, from Secret or SecretFile
}

// DefaultEvents returns the built-in webhook settings (no webhook).
func DefaultEvents() Events {
	return Events{Timeout: 5 * time.Second, RetryBase: webhook.DefaultBase, RetryMax: webhook.DefaultMax, GiveUp: webhook.DefaultGiveUp}
}

// Policy returns the retry policy of the settings.
func (e *Events) Policy() webhook.Policy {
	return webhook.Policy{Base: e.RetryBase, Max: e.RetryMax, GiveUp: e.GiveUp}
}

func (e *Events) bind(fs *flag.FlagSet) {
	fs.Var(&e.Webhooks, "webhook", "URL to POST the event of each committed recording to (repeat the flag, or comma-separate); see docs/events.md")
	fs.Var(&e.Secret, "webhook-secret", "HMAC-SHA256 secret that signs the webhook deliveries (prefer --webhook-secret-file)")
	fs.StringVar(&e.SecretFile, "webhook-secret-file", e.SecretFile, "file holding the webhook signing secret (trailing newline ignored)")
	fs.DurationVar(&e.Timeout, "webhook-timeout", e.Timeout, "longest one delivery attempt may take; also finalize's budget for delivering right after the commit")
	fs.DurationVar(&e.LinkExpiry, "link-expiry", e.LinkExpiry, "add a presigned GET link to each object of the event, valid this long (capped by the credentials' own expiry and 7 days); 0: no links")
	fs.DurationVar(&e.RetryBase, "webhook-retry-base", e.RetryBase, "first delay before a failed delivery is tried again (doubles, with jitter)")
	fs.DurationVar(&e.RetryMax, "webhook-retry-max", e.RetryMax, "longest delay between delivery attempts")
	fs.DurationVar(&e.GiveUp, "webhook-give-up", e.GiveUp, "age after which an undelivered event stops being tried: a dead letter, kept in the outbox and listed")
}

func (e *Events) validate() []error {
	var errs []error
	e.Endpoints = nil
	for _, s := range e.Webhooks {
		ep, err := webhook.ParseEndpoint(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.Endpoints = append(e.Endpoints, ep)
	}
	e.Key = e.Secret.v
	switch {
	case e.SecretFile != "" && !e.Secret.v.IsZero():
		errs = append(errs, errors.New("webhook secret: set --webhook-secret or --webhook-secret-file, not both"))
	case e.SecretFile != "":
		b, err := os.ReadFile(e.SecretFile)
		if err != nil {
			// The path may be printed; the content never is.
			errs = append(errs, fmt.Errorf("webhook secret file: %w", err))
			break
		}
		e.Key = secrets.NewValue(strings.TrimRight(string(b), "\r\n"))
	}
	if len(e.Endpoints) > 0 && e.Key.IsZero() {
		errs = append(errs, errors.New("webhooks need a signing secret: set --webhook-secret-file or JIBRI_UPLOAD_WEBHOOK_SECRET"))
	}
	if e.Timeout <= 0 {
		errs = append(errs, errors.New("webhook-timeout must be positive"))
	}
	if e.LinkExpiry < 0 {
		errs = append(errs, errors.New("link-expiry must not be negative"))
	}
	if e.RetryBase <= 0 || e.RetryMax < e.RetryBase {
		errs = append(errs, errors.New("webhook retry delays must satisfy 0 < webhook-retry-base <= webhook-retry-max"))
	}
	if e.GiveUp < time.Hour {
		errs = append(errs, errors.New("webhook-give-up must be at least 1h"))
	}
	return errs
}

// urlList is a repeatable flag whose values may also be comma-separated
// (the environment variable holds them that way). It prints as hosts
// only: a URL may carry a token.
type urlList []string

func (l *urlList) String() string {
	if l == nil {
		return ""
	}
	var hosts []string
	for _, s := range *l {
		if ep, err := webhook.ParseEndpoint(s); err == nil {
			hosts = append(hosts, ep.Name())
		}
	}
	return strings.Join(hosts, ",")
}

func (l *urlList) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// secretFlag holds a secret given as a flag or variable; it prints as
// redacted.
type secretFlag struct{ v secrets.Value }

func (s *secretFlag) String() string { return "" }

func (s *secretFlag) Set(v string) error {
	s.v = secrets.NewValue(v)
	return nil
}
