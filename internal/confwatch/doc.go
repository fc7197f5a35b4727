// Package confwatch is the daemon beside a Jitsi Videobridge on ECS. It reads
// the bridge's /colibri/stats every interval and:
//
//   - holds ECS task scale-in protection while the bridge hosts a
//     conference, so neither a scale-in nor a deployment stops it mid-meeting
//     (a failed read keeps the last decision: an unseen bridge is not idle);
//   - publishes the Conferences and Participants gauges (current values) as
//     CloudWatch Embedded Metric Format documents once per metrics interval;
//   - when it is stopped (the ECS agent stops it before the bridge, since it
//     depends on it), asks the bridge for a graceful shutdown and waits,
//     within the drain timeout, for its last conference to end.
//
// It must be the only process of its task that sets task protection: the ECS
// agent keeps one protection state per task.
package confwatch
