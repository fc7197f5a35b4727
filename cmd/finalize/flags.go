package main

import (
	"errors"
	"flag"
	"fmt"
)

// parseFlags gives fs its usage text and parses args. When ok is false
// the subcommand returns code: 0 after --help, else a usage error (the
// flag package has printed it).
func parseFlags(fs *flag.FlagSet, usage string, args []string) (code int, ok bool) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}
