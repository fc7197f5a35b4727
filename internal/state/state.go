// Package state keeps the durable per-recording status file that finalize
// leaves for the watcher and the operator: whether the last attempt failed
// and why, how many attempts there were, and whether the recording is done.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/atomicfile"
)

// File is the name of the status file inside a recording directory.
const File = ".finalize-state.json"

// Prefix marks every file this project writes into a recording directory.
const Prefix = ".finalize"

// Status of a recording as recorded on disk.
type Status string

// Statuses written by finalize.
const (
	StatusFailed   Status = "failed"   // last attempt failed, retryable
	StatusDeadline Status = "deadline" // last attempt ran out of time, retryable
	StatusMismatch Status = "mismatch" // S3 did not hold the bytes read, retryable
	StatusDone     Status = "done"     // uploaded and committed; leftovers kept on disk
)

// State is the content of the status file.
type State struct {
	Status    Status    `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Manifest  string    `json:"manifest,omitempty"`
	Leftovers []string  `json:"leftovers,omitempty"`
	Updated   time.Time `json:"updated"`
}

// Read returns the recorded state; a missing file yields a zero State.
func Read(dir string) (State, error) {
	b, err := os.ReadFile(filepath.Join(dir, File))
	if errors.Is(err, os.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("state: cannot read %s: %w", dir, err)
	}
	return Decode(b)
}

// Decode parses a status file.
func Decode(b []byte) (State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("state: corrupt status file: %w", err)
	}
	if s.Attempts < 0 {
		s.Attempts = 0
	}
	return s, nil
}

// Write stores s atomically.
func Write(dir string, s State) error {
	s.Updated = s.Updated.UTC()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return atomicfile.Write(filepath.Join(dir, File), append(b, '\n'), 0o644)
}
