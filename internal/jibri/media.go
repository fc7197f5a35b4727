package jibri

import (
	"regexp"
	"time"
)

// mediaName matches Jibri's media file name: <room>_<yyyy-MM-dd-HH-mm-ss>.<ext>.
var mediaName = regexp.MustCompile(`^(.*)_(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})\.[A-Za-z0-9]{1,8}$`)

// ParseMediaName extracts the room and the recording start from a media file
// name. The time is the Jibri host's local wall clock; it is returned as UTC
// with the same wall clock fields because the zone is unknown.
func ParseMediaName(name string) (room string, start time.Time, ok bool) {
	m := mediaName.FindStringSubmatch(name)
	if m == nil {
		return "", time.Time{}, false
	}
	t, err := time.Parse("2006-01-02-15-04-05", m[2])
	if err != nil {
		return "", time.Time{}, false
	}
	return m[1], t, true
}

// sessionID matches the session ids recent Jibri uses for directory names.
var sessionID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// IsSessionID reports whether name looks like a Jibri session directory
// name (a UUID, 16 letters, or anything in [A-Za-z0-9_-]).
func IsSessionID(name string) bool { return sessionID.MatchString(name) }
