// Command finalize is the program Jibri runs when a recording stops. It
// uploads the recording directory to S3, verifies it, commits a manifest and
// only then deletes the local files. See `finalize --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
