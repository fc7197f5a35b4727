// Package jvbstats reads a Jitsi Videobridge's /colibri/stats document and
// asks the bridge for a graceful shutdown through /colibri/shutdown.
//
// Both endpoints live on the bridge's private HTTP server (port 8080), which
// serves them only with videobridge.apis.rest.enabled (COLIBRI_REST_ENABLED in
// docker-jitsi-meet); the shutdown endpoint also needs
// videobridge.rest.shutdown.enabled (SHUTDOWN_REST_ENABLED). A graceful
// shutdown makes the bridge refuse new conferences and exit once the last
// one has ended.
//
// A stats document without a "conferences" number is an error, never an
// idle bridge: the caller decides on it whether a bridge may be stopped.
package jvbstats
