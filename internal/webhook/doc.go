// Package webhook signs and sends events to integrators' HTTP endpoints,
// classifies the answers, and decides when to try again.
//
// A delivery is one POST of the event's JSON body with three headers:
// Jibri-Event-Id (the idempotency key, the same on every retry),
// Jibri-Event-Type, and Jibri-Signature, "t=<unix seconds>,v1=<hex
// HMAC-SHA256 of the secret over t + "." + body>". Verify is the check a
// receiver makes (docs/events.md has it for Go and openssl).
//
// A 2xx answer is delivered; 410 Gone means the endpoint wants no more
// of this event: delivery to it stops, and that is not a failure; anything
// else (other statuses, timeouts, refused connections) is retried with
// Policy's capped exponential backoff and jitter until Policy.GiveUp has
// passed since the event was queued.
package webhook
