// Package opscheck holds the offline checks of the operator files in docker/compose and
// docker/monitoring, run by `make ops-check` (its own module, so the main module does not
// depend on the Prometheus server's PromQL parser; it imports nothing of the main module, whose
// binaries it builds and runs instead):
//
//   - compose_test.go merges docker/compose/*.yml onto minimal copies of docker-jitsi-meet's
//     compose files with `docker-compose config` and asserts the merged services: Jibri runs
//     finalize with the JIBRI_UPLOAD_* settings, recwatch shares the recordings volume and the
//     settings, and the MinIO overlay creates a versioned bucket and points both at it.
//   - monitoring_test.go decodes the Grafana dashboard and the Prometheus rules, parses every
//     expression with the PromQL parser and checks that every series it names is one a running
//     recwatch serves on /metrics (built from the main module and scraped once in TestMain), and
//     that every alert has firing and quiet promtool tests.
//
// Tools they need (docker-compose) fail the tests when JIBRI_S3_REQUIRE_OPS=1, as `make
// ops-check` sets, and skip them otherwise.
package opscheck
