// Command recwatch is the sidecar that finalizes every recording the Jibri
// hook missed. See `recwatch --help`.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv, sigs))
}
