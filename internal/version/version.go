// Package version holds the build's version, set at link time with
// -ldflags "-X github.com/jitsi-recorder/jibri-s3/internal/version.Version=...".
package version

// Version of this build.
var Version = "dev"
