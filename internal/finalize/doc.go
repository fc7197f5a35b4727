// Package finalize runs the whole pipeline for one recording directory:
// lock, scan, upload and verify every media file (with per-recording retries
// inside a deadline), commit the manifest, and only then delete the local
// files. On any failure the recording stays on disk, marked with the reason
// in its state file for the watcher, and a metric is recorded.
//
// Errors returned by Run wrap one of the sentinels below; cmd/finalize maps
// them to exit codes.
package finalize
