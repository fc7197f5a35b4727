package outbox

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/event"
	"github.com/jitsi-recorder/jibri-s3/internal/logging"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook"
)

// Sender makes one attempt (webhook.Client).
type Sender interface {
	Send(ctx context.Context, ep webhook.Endpoint, id, typ string, body []byte, attempt int) webhook.Result
}

// Linker adds presigned links to an event's objects at each attempt
// (presign.Linker); an error sends the event without links.
type Linker interface {
	AddLinks(ctx context.Context, e *event.Event) error
}

// Deliverer sends the due events of one outbox to the configured
// endpoints.
type Deliverer struct {
	Outbox    *Outbox
	Endpoints []webhook.Endpoint
	Sender    Sender
	Policy    webhook.Policy
	Links     Linker // nil: no links
	Now       func() time.Time
	Log       zerolog.Logger
}

// Stats is what a pass did and what it left.
type Stats struct {
	Delivered int // endpoint deliveries answered 2xx in this pass
	Gone      int // endpoints that answered 410 in this pass
	Failed    int // attempts that failed in this pass
	Busy      int // events another process was delivering
	Pending   int // events still owed to an endpoint after the pass (dead letters included)
	Dead      int // of Pending: past the give-up age, no more attempts
	Corrupt   int // of Pending: unreadable files, kept
	// Oldest is the queue time of the oldest pending event (zero: none).
	Oldest time.Time
	// NextAt is the earliest next attempt of a pending event (zero: none).
	NextAt time.Time
}

// Add accumulates the counters of s into t (not the pending state).
func (t *Stats) add(s Stats) {
	t.Delivered, t.Gone, t.Failed, t.Busy = t.Delivered+s.Delivered, t.Gone+s.Gone, t.Failed+s.Failed, t.Busy+s.Busy
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Pass makes every attempt that is due, one event at a time, until ctx
// ends (the attempt in flight is then cancelled and retried later). only,
// when not empty, limits the pass to that event id (finalize's own).
func (d *Deliverer) Pass(ctx context.Context, only string) (Stats, error) {
	var st Stats
	if len(d.Endpoints) == 0 {
		return st, nil
	}
	ids, err := d.Outbox.IDs()
	if err != nil {
		return st, err
	}
	for _, id := range ids {
		if only != "" && id != only {
			continue
		}
		s, err := d.deliver(ctx, id)
		st.add(s)
		if err != nil {
			d.Log.Warn().Err(err).Str(KeyEvent, id).Msg("cannot deliver event; kept in the outbox")
		}
	}
	st.fill(d, only)
	return st, nil
}

// fill counts what is left.
func (st *Stats) fill(d *Deliverer, only string) {
	list, err := d.Outbox.List()
	if err != nil {
		return
	}
	now := d.now()
	for _, l := range list {
		if only != "" && l.ID != only {
			continue
		}
		if l.Err == nil && d.complete(&l.Entry) {
			continue
		}
		st.Pending++
		if st.Oldest.IsZero() || l.QueuedAt.Before(st.Oldest) {
			st.Oldest = l.QueuedAt
		}
		switch {
		case l.Err != nil:
			st.Corrupt++
		case d.Policy.Expired(l.QueuedAt, now):
			st.Dead++
		default:
			for _, ep := range d.Endpoints {
				t := l.Targets[ep.ID()]
				if t.Done() {
					continue
				}
				at := now
				if t != nil && t.NextAt.After(now) {
					at = t.NextAt
				}
				if st.NextAt.IsZero() || at.Before(st.NextAt) {
					st.NextAt = at
				}
			}
		}
	}
}

// complete reports whether every configured endpoint is done with e.
func (d *Deliverer) complete(e *Entry) bool {
	for _, ep := range d.Endpoints {
		if !e.Targets[ep.ID()].Done() {
			return false
		}
	}
	return true
}

func (d *Deliverer) deliver(ctx context.Context, id string) (Stats, error) {
	var st Stats
	l, err := d.Outbox.lock(id, false)
	if errors.Is(err, errBusy) {
		st.Busy++
		return st, nil
	}
	if err != nil {
		return st, err
	}
	defer l.unlock()
	e, err := d.Outbox.read(id) // again, under the lock
	if errors.Is(err, os.ErrNotExist) {
		// Delivered and removed by the other process meanwhile: our lock
		// open recreated the lock file, which goes too.
		return st, d.Outbox.remove(id)
	}
	if err != nil {
		return st, err
	}
	log := d.Log.With().Str(KeyEvent, id).Str(logging.KeySession, e.Session).Logger()
	if d.complete(e) {
		return st, d.Outbox.remove(id)
	}
	if d.Policy.Expired(e.QueuedAt, d.now()) {
		return st, nil // a dead letter: listed and counted, no attempt
	}
	var body []byte
	for _, ep := range d.Endpoints {
		t := e.Targets[ep.ID()]
		if t.Done() || t != nil && t.NextAt.After(d.now()) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if t == nil {
			t = &Target{}
			e.Targets[ep.ID()] = t
		}
		if body == nil {
			body = d.body(ctx, log, e)
		}
		t.Endpoint = ep.Name()
		t.Attempts++
		r := d.Sender.Send(ctx, ep, e.ID, e.Type, body, t.Attempts)
		now := d.now().UTC()
		t.LastAttempt, t.LastStatus = now, r.Status
		elog := log.With().Str("endpoint", ep.Name()).Str("endpoint_id", ep.ID()).Int("attempt", t.Attempts).Int("status", r.Status).Logger()
		switch r.Outcome {
		case webhook.Delivered:
			t.DeliveredAt, t.LastError, t.NextAt = now, "", time.Time{}
			st.Delivered++
			elog.Info().Msg("event delivered")
		case webhook.Gone:
			t.Gone, t.LastError, t.NextAt = true, "", time.Time{}
			st.Gone++
			elog.Info().Msg("endpoint answered 410 gone: no more attempts of this event to it")
		default:
			st.Failed++
			t.LastError = errString(r.Err)
			t.NextAt = now.Add(d.Policy.Delay(t.Attempts, r.After))
			lvl := elog.Warn()
			if t.Attempts > 1 {
				lvl = elog.Debug() // one warning per event and endpoint, then quiet
			}
			lvl.Err(r.Err).Time("next_attempt", t.NextAt).Msg("event not delivered; retrying later")
			if d.Policy.Expired(e.QueuedAt, t.NextAt) {
				elog.Error().Time("queued_at", e.QueuedAt).Msg("event reached the give-up age: kept in the outbox as a dead letter, no more attempts")
			}
		}
	}
	if d.complete(e) {
		return st, d.Outbox.remove(id)
	}
	return st, d.Outbox.write(e)
}

// body is the event as sent: links added at each attempt, so that they
// are fresh however late the delivery.
func (d *Deliverer) body(ctx context.Context, log zerolog.Logger, e *Entry) []byte {
	if d.Links == nil {
		return e.Event
	}
	ev, err := event.Decode(e.Event)
	if err == nil {
		err = d.Links.AddLinks(ctx, ev)
	}
	var b []byte
	if err == nil {
		b, err = event.Encode(ev)
	}
	if err != nil {
		log.Warn().Err(err).Msg("cannot add links to the event; sending it without them (finalize link prints them later)")
		return e.Event
	}
	return b
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// KeyEvent is the log key of an event id.
const KeyEvent = "event_id"
