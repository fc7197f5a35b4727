// Package dockerfiletest parses docker/jibri's Dockerfiles with BuildKit's own parser (no Docker
// engine needed) and checks the properties the images promise: pinned upstream tag, static
// -trimpath build with the version stamped in, uid 1000, executables shipped executable, the
// finalize hook wired through Jibri's environment, and no secret in a layer. Its own module, so
// the main module does not depend on BuildKit.
package dockerfiletest
