// Package outbox keeps the events of committed recordings on the
// recordings volume until every configured webhook has them: one file per
// event in <root>/.finalize-outbox/ (recdir owns the name), written with
// atomicfile before the commit is recorded, so an event exists for every
// committed recording whatever crashes, restarts or hand-offs follow.
//
// A Deliverer makes the attempts that are due (finalize right after its
// commit, with a short budget; recwatch for as long as it runs), records
// each endpoint's attempts, status and next attempt in the event's file,
// and removes the file once every endpoint has it (2xx) or refused it for
// good (410). An event older than the policy's give-up age is a dead
// letter: no more attempts, but its file stays, listed by `recwatch
// status` and counted, until an operator removes it (or raises the
// give-up age, which revives it).
//
// Two processes may deliver from one outbox (the hook and the watcher): an
// attempt holds the event's lock file (flock), so one event is sent by one
// of them at a time; a crash between a receiver's 2xx and the write of the
// state sends it again, with the same id (at least once).
package outbox
