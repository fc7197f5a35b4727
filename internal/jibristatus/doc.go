// Package jibristatus reads the busy status and health of the Jibri in the
// same task from its HTTP API (GET /jibri/api/v1.0/health on the API port,
// 2222 by default), so that the watcher can protect the task while Jibri
// records and publish how many recorders are idle, the metric Jibri's
// scaling follows.
//
// Jibri answers 200 with {"status":{"busyStatus":"IDLE"|"BUSY"|"EXPIRED",
// "health":{"healthStatus":"HEALTHY"|"UNHEALTHY",...}}} (jibri's
// doc/http_api.md).
package jibristatus
