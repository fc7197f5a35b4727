// Package jibri understands what Jibri leaves in a recording directory: the
// metadata.json it writes before calling the finalize program, and the name
// of the media file (<room>_<yyyy-MM-dd-HH-mm-ss>.<ext>).
//
// Parsing is tolerant (unknown keys, missing fields) and never keeps secrets:
// Metadata holds only the fields this project uses, and Public returns the
// remaining keys with anything that looks like a credential redacted.
package jibri
