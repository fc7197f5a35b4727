// Package failpoint lets the fault-injection suite kill finalize at an exact
// stage (kill -9 semantics: no deferred cleanup, no flushed buffers). It is
// driven by JIBRI_UPLOAD_FAILPOINT, which production never sets.
//
// Stages: part-uploaded:N (after the N-th part of a file is stored),
// after-manifest (manifest stored, event not queued yet), after-enqueue
// (event queued, commit not recorded yet), before-deliver (cmd/finalize:
// committed and cleaned up, the event not attempted yet),
// before-complete, after-complete, after-verify (all files verified, before
// the manifest), during-cleanup (after the first local file is deleted).
package failpoint

import (
	"os"
	"strings"
	"syscall"
)

// EnvVar names the variable holding a comma-separated list of stages.
const EnvVar = "JIBRI_UPLOAD_FAILPOINT"

// FromEnv returns a function that SIGKILLs the process when it is called
// with one of the configured stages, or nil when none is configured.
func FromEnv(getenv func(string) string) func(string) {
	spec := strings.TrimSpace(getenv(EnvVar))
	if spec == "" {
		return nil
	}
	stages := map[string]bool{}
	for _, s := range strings.Split(spec, ",") {
		stages[strings.TrimSpace(s)] = true
	}
	return func(name string) {
		if stages[name] {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // never continue past the stage
		}
	}
}
