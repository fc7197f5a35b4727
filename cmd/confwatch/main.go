// Command confwatch is the sidecar beside a Jitsi Videobridge on ECS: task
// scale-in protection while conferences run, conference and participant
// gauges, graceful shutdown on stop. See `confwatch --help`.
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
