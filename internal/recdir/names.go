package recdir

import (
	"path/filepath"
	"regexp"
)

// Names this program writes into a recording directory. Every one starts
// with Prefix.
const (
	// Prefix starts every name this program writes. A name that merely
	// starts with it is not ours: IsOurs decides.
	Prefix = ".finalize"

	// RecordFile is the record of a recording (see Record).
	RecordFile = ".finalize-record.json"

	// TempFile is the temp file of the record's atomic commit.
	TempFile = ".finalize-record.tmp"

	// LockInfoFile names the holder of the directory lock (package lock).
	LockInfoFile = ".finalize.lock"

	// Legacy files of earlier releases, read once by Open and removed.
	legacyStateFile   = ".finalize-state.json"
	legacyJournalFile = ".finalize-journal.json"
)

// MetricsDir is the directory, in the recordings root (not in a
// recording), where finalize spools EMF metric records for the watcher.
const MetricsDir = ".finalize-metrics"

// HeartbeatFile, in the recordings root, is refreshed by a live watcher
// (see Heartbeat).
const HeartbeatFile = ".finalize-watcher.json"

// ProbeCacheFile, in the recordings root, caches what the store probe
// found per endpoint and bucket (package probe owns its content), so that
// --verify auto probes once, not on every run.
const ProbeCacheFile = ".finalize-probe.json"

// ProbeCache returns the probe cache of the recordings root.
func ProbeCache(root string) string { return filepath.Join(root, ProbeCacheFile) }

// OutboxDir is the directory, in the recordings root, where finalize
// queues the events of committed recordings until every webhook has them
// (package outbox owns its content).
const OutboxDir = ".finalize-outbox"

// OutboxPath returns the outbox directory of the recordings root.
func OutboxPath(root string) string { return filepath.Join(root, OutboxDir) }

// MetricsSpool returns the EMF spool file of the recordings root.
func MetricsSpool(root string) string {
	return filepath.Join(root, MetricsDir, "emf.jsonl")
}

// legacyTemp matches the temp files os.CreateTemp made for the atomic
// writes of earlier releases: "." + base name + ".tmp-" + digits.
var legacyTemp = regexp.MustCompile(`^\.\.finalize-(state|journal)\.json\.tmp-[0-9]+$`)

// IsOurs reports whether name (a directory entry of a recording) is a file
// this program wrote. Only these exact names are ours: a user's file that
// happens to start with Prefix is media like any other.
func IsOurs(name string) bool {
	switch name {
	case RecordFile, TempFile, LockInfoFile, legacyStateFile, legacyJournalFile:
		return true
	}
	return legacyTemp.MatchString(name)
}

// ownNames lists the fixed names, in the order cleanup removes them: the
// record last, because it is the commit marker.
var ownNames = []string{TempFile, legacyStateFile, legacyJournalFile, LockInfoFile, RecordFile}
