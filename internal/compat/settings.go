package compat

import (
	"os/exec"
	"strings"
)

// Settings are the configurations a round trip runs with, the defaults
// first, then the flags an operator of a store that refuses the defaults
// would set. The matrix shows the outcome of each.
func Settings() []Setting {
	return []Setting{
		{},
		{Flags: "--sse none", Env: []string{"JIBRI_UPLOAD_SSE=none"}},
		{Flags: "--sse-mismatch warn", Env: []string{"JIBRI_UPLOAD_SSE_MISMATCH=warn"}},
		{Flags: "--verify checksum", Env: []string{"JIBRI_UPLOAD_VERIFY=checksum"}},
		{Flags: "--verify readback --sse none", Env: []string{"JIBRI_UPLOAD_VERIFY=readback", "JIBRI_UPLOAD_SSE=none"}},
	}
}

// Supported reports whether finalize knows every variable of the setting:
// an unknown JIBRI_UPLOAD_* variable is ignored, so a setting finalize does
// not have would silently run as the defaults. finalize --help names each
// flag's variable.
func (b *Binaries) Supported(s Setting) bool {
	if b.help == "" {
		out, _ := exec.Command(b.Finalize, "--help").CombinedOutput()
		b.help = string(out)
	}
	for _, kv := range s.Env {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.Contains(b.help, "$"+name+"]") {
			return false
		}
	}
	return true
}
