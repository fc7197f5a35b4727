package upload

import (
	"path/filepath"
	"strings"
)

// EscapeMetadata makes a value safe for an x-amz-meta-* header: S3 only
// carries US-ASCII there, so anything else (and "%") is percent-encoded.
// Readers decode it with url.PathUnescape.
func EscapeMetadata(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '%' {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

var contentTypes = map[string]string{
	".mp4":  "video/mp4",
	".m4v":  "video/mp4",
	".mkv":  "video/x-matroska",
	".webm": "video/webm",
	".mov":  "video/quicktime",
	".ts":   "video/mp2t",
	".flv":  "video/x-flv",
	".m4a":  "audio/mp4",
	".mp3":  "audio/mpeg",
	".ogg":  "audio/ogg",
	".opus": "audio/opus",
	".wav":  "audio/wav",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
	".vtt":  "text/vtt",
	".srt":  "application/x-subrip",
}

// ContentType guesses a media type from the file name; the default is
// application/octet-stream.
func ContentType(name string) string {
	if ct, ok := contentTypes[strings.ToLower(filepath.Ext(name))]; ok {
		return ct
	}
	return "application/octet-stream"
}
