// Package throttle is a TCP proxy for tests that simulates a slow, steady
// link: it listens on 127.0.0.1, forwards every accepted connection to one
// target, and limits the client-to-server direction of each connection with
// its own token bucket (bytes per second), as an uplink from a recorder to S3
// behaves. The server-to-client direction is forwarded unthrottled.
//
// Pause stops forwarding in both directions without closing anything (a
// stalled link); Resume lets the bytes flow again. Stats counts the
// connections accepted and the bytes forwarded each way. Close, or the end of
// the context given to Start, stops the listener and every connection and
// waits for their goroutines.
//
// The kernel buffers a few MB per socket on loopback, which hides a slow link
// from the client; Options.SocketBuffer shrinks the proxy's socket buffers so
// that the client feels the limit almost at once.
package throttle
