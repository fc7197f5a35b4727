// Package event defines the document sent to integrators once per committed
// recording ("recording.committed"), and builds it from the committed
// manifest: what was stored, where, under which version, with which
// checksum, and the meeting it came from.
//
// The schema is versioned like the manifest's. The event id is derived
// from the commit itself (bucket, manifest key, and each object's key,
// version and checksum), so every retry, every restart and every run that
// re-commits the same objects produces the same id: receivers use it as
// the idempotency key.
package event
