package compat

// Settings are tried in order until one commits: the defaults first, then
// the flags an operator of that store would set. The first that commits is
// the row's "passes with"; the defaults' outcome is always shown.
func Settings() []Setting {
	return []Setting{
		{},
		{Flags: "--sse-mismatch warn", Env: []string{"JIBRI_UPLOAD_SSE_MISMATCH=warn"}},
		{Flags: "--sse none", Env: []string{"JIBRI_UPLOAD_SSE=none"}},
	}
}
