// Package metrics records one CloudWatch Embedded Metric Format (EMF) event
// per finalized recording.
//
// Jibri prefixes everything the hook prints with its own log format, so a
// metric printed on stdout would never be parsed by CloudWatch. Finalize
// appends the event as one JSON line to a spool file on the recordings
// volume instead (Spool); the recwatch sidecar, whose stdout goes to
// CloudWatch Logs through awslogs as clean JSON lines, ships the spool and
// prints its own events the same way. Dimensions are low-cardinality only
// (environment); the session id travels as a property, never a dimension.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

// DefaultNamespace is the CloudWatch namespace used when none is set.
const DefaultNamespace = "Jitsi/Recordings"

// Spool returns the default spool path for a recordings root, where
// finalize leaves EMF lines for the sidecar (package recdir owns the name).
func Spool(root string) string { return recdir.MetricsSpool(root) }

// Outcome of a recording.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	// OutcomeHandedOff: not committed yet, left to the watcher on purpose.
	OutcomeHandedOff = "handed_off"
)

// Record is one recording's result.
type Record struct {
	Outcome       string
	Reason        string // failure class: upload, verify, deadline, permanent, changed, cleanup
	Bytes         int64
	Seconds       float64
	Attempts      int
	Files         int
	CleanupFailed bool
	HandedOff     bool    // the hook stopped within its hold and left the rest to the watcher
	HookSeconds   float64 // finalize run as Jibri's hook: how long it held Jibri (0: not the hook)
	// Unplayable counts the committed media files no player can open (an
	// MP4 without its moov index: ffmpeg killed before it finished). They
	// are uploaded and verified like any other file, and flagged.
	Unplayable int
	Source     string // "finalize" or "recwatch"
	Session    string // property, not a dimension
}

// EMF renders r as one CloudWatch EMF JSON document.
func (r Record) EMF(namespace, environment string, at time.Time) ([]byte, error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if environment == "" {
		environment = "default"
	}
	ok, failed, cleanupFailed, handedOff := 0, 0, 0, 0
	switch r.Outcome {
	case OutcomeSuccess:
		ok = 1
	case OutcomeHandedOff:
		handedOff = 1
	default:
		failed = 1
	}
	if r.CleanupFailed {
		cleanupFailed = 1
	}
	doc := map[string]any{
		"_aws": map[string]any{
			"Timestamp": at.UnixMilli(),
			"CloudWatchMetrics": []map[string]any{{
				"Namespace":  namespace,
				"Dimensions": [][]string{{"Environment"}},
				"Metrics": []map[string]string{
					{"Name": "RecordingsUploaded", "Unit": "Count"},
					{"Name": "RecordingsFailed", "Unit": "Count"},
					{"Name": "CleanupFailed", "Unit": "Count"},
					{"Name": "BytesUploaded", "Unit": "Bytes"},
					{"Name": "UploadSeconds", "Unit": "Seconds"},
					{"Name": "Attempts", "Unit": "Count"},
					{"Name": "HandedOff", "Unit": "Count"},
					{"Name": "Unplayable", "Unit": "Count"},
				},
			}},
		},
		"Environment":        environment,
		"RecordingsUploaded": ok,
		"RecordingsFailed":   failed,
		"CleanupFailed":      cleanupFailed,
		"BytesUploaded":      r.Bytes,
		"UploadSeconds":      r.Seconds,
		"Attempts":           r.Attempts,
		"HandedOff":          handedOff,
		"Unplayable":         r.Unplayable,
		"Files":              r.Files,
		"Outcome":            r.Outcome,
		"Source":             r.Source,
	}
	if r.Reason != "" {
		doc["Reason"] = r.Reason
	}
	if r.HookSeconds > 0 {
		m := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]map[string]any)[0]
		m["Metrics"] = append(m["Metrics"].([]map[string]string), map[string]string{"Name": "HookSeconds", "Unit": "Seconds"})
		doc["HookSeconds"] = r.HookSeconds
	}
	if r.Session != "" {
		doc["SessionId"] = r.Session
	}
	return json.Marshal(doc)
}

// Sink receives EMF documents.
type Sink interface {
	// Emit stores one document. It returns an error when the document could
	// not be stored; callers log it and carry on (a lost metric never fails
	// an upload).
	Emit(doc []byte) error
}

// FileSink appends each document as one line with a single write(2) on an
// O_APPEND descriptor, so concurrent writers never interleave lines.
type FileSink struct{ Path string }

var _ Sink = FileSink{}

// Emit appends doc and a newline.
func (s FileSink) Emit(doc []byte) error {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return fmt.Errorf("metrics: cannot create spool directory: %w", err)
	}
	f, err := os.OpenFile(s.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("metrics: cannot open spool: %w", err)
	}
	line := append(append(make([]byte, 0, len(doc)+1), doc...), '\n')
	_, werr := f.Write(line)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("metrics: cannot append to spool: %w", werr)
	}
	if cerr != nil {
		return fmt.Errorf("metrics: cannot close spool: %w", cerr)
	}
	return nil
}

// Discard drops documents (metrics disabled).
type Discard struct{}

// Emit does nothing.
func (Discard) Emit([]byte) error { return nil }

// WriterSink writes each document as one line to W (the sidecar's stdout,
// which awslogs ships to CloudWatch Logs). Safe for concurrent use.
type WriterSink struct {
	mu sync.Mutex
	W  io.Writer
}

// Emit writes doc and a newline in one call.
func (s *WriterSink) Emit(doc []byte) error {
	line := append(append(make([]byte, 0, len(doc)+1), doc...), '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.W.Write(line); err != nil {
		return fmt.Errorf("metrics: cannot write: %w", err)
	}
	return nil
}

// Gauges renders current values (not counts of events) as one CloudWatch
// EMF document with the Environment dimension, for example the idle
// recorders of a Jibri task.
func Gauges(namespace, environment string, at time.Time, values map[string]float64) ([]byte, error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if environment == "" {
		environment = "default"
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	defs := make([]map[string]string, 0, len(names))
	doc := map[string]any{"Environment": environment}
	for _, name := range names {
		defs = append(defs, map[string]string{"Name": name, "Unit": "Count"})
		doc[name] = values[name]
	}
	doc["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  namespace,
			"Dimensions": [][]string{{"Environment"}},
			"Metrics":    defs,
		}},
	}
	return json.Marshal(doc)
}
