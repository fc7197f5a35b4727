// Package recwatch is the sidecar daemon that finalizes every recording the
// Jibri hook missed: after a crash, a stop, a scale-in, a failed upload or a
// deadline. It watches the recordings root (fsnotify as a hint, periodic
// rescans as the truth), decides from what is on disk when a directory is
// ready (package inventory), runs the same pipeline and lock as finalize
// with bounded concurrency, retries failures with backoff and counts them
// on disk, holds ECS task scale-in protection while anything is left to
// upload, and serves /healthz, /readyz and Prometheus /metrics.
package recwatch
