// Package logging builds the zerolog logger: JSON lines by default, the
// human console format on a terminal, lowercase messages, and field names
// shared by every component.
package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Field names every component uses for the same thing, so that one query
// finds a recording in the logs of finalize and recwatch alike.
const (
	KeyDir      = "dir"      // the recording directory
	KeySession  = "session"  // its session id
	KeyFile     = "file"     // a media file's name in it
	KeyKey      = "key"      // an object key
	KeyManifest = "manifest" // the manifest's key
)

// New returns a logger writing to w. format is auto, json or console.
func New(w io.Writer, format, level, component string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "auto":
		if IsTerminal(w) {
			w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
		}
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !IsTerminal(w)}
	case "json":
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want auto, json or console", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Str("component", component).Logger(), nil
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
