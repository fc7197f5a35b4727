package upload

import (
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"path/filepath"
	"sort"
	"strings"
)

// S3 limits user-defined metadata to 2 KB, "measured by taking the sum of
// the number of bytes in the UTF-8 encoding of each key and value" (the
// x-amz-meta- prefix not counted). MetadataLimit reads 2 KB as 2,000 bytes,
// the smaller of KB and KiB, and FitMetadata counts the encoded value sent,
// which is never shorter than the UTF-8 text S3 decodes from it.
const MetadataLimit = 2000

// MaxMetadataValue bounds each encoded value, so that no single long value
// (a room name, a meeting URL) crowds out the others.
const MaxMetadataValue = 512

// metadataPriority orders the keys FitMetadata keeps longest, most
// important first. When the whole map is over MetadataLimit, values are cut
// (then dropped) from the end of this list: keys it does not name first (in
// reverse sorted order), then meeting-url (it repeats the room), then
// conference-session-id, tenant, room, and last the short fixed values that
// identify the recording and describe its media.
var metadataPriority = []string{
	"session-id", "recording-start", "metadata-status", "uploader-version", "participants",
	"media-playable", "media-duration", "room", "tenant", "conference-session-id", "meeting-url",
}

// FitMetadata turns raw metadata values (any text) into x-amz-meta-* values
// that S3 always accepts:
//   - printable US-ASCII is kept as it is; anything else (non-ASCII,
//     control characters, invalid UTF-8, leading or trailing blanks, or text
//     that looks like an encoded-word) becomes RFC 2047 encoded-words with
//     Q encoding, as S3 documents for non-ASCII metadata; readers decode
//     values with mime.WordDecoder.DecodeHeader;
//   - a value longer than MaxMetadataValue once encoded is cut on a rune
//     boundary and ends in "~" and 8 hex digits of the SHA-256 of the whole
//     value, so that distinct values stay distinct;
//   - the sum of the key and encoded value bytes is at most MetadataLimit,
//     cutting values in the order of metadataPriority, and dropping a key
//     only when even its hash would not fit.
//
// Keys must be lowercase letters, digits and '-' (starting with a letter or
// digit); others are dropped. The result depends only on raw.
func FitMetadata(raw map[string]string) map[string]string {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		if validMetadataKey(k) {
			keys = append(keys, k)
		}
	}
	rank := func(k string) int {
		for i, p := range metadataPriority {
			if p == k {
				return i
			}
		}
		return len(metadataPriority)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	out := make(map[string]string, len(keys))
	total := 0
	for _, k := range keys {
		v, ok := fitValue(raw[k], MaxMetadataValue)
		if !ok {
			continue
		}
		out[k] = v
		total += len(k) + len(v)
	}
	for i := len(keys) - 1; i >= 0 && total > MetadataLimit; i-- {
		k := keys[i]
		cur, ok := out[k]
		if !ok {
			continue
		}
		total -= len(k) + len(cur)
		v, ok := fitValue(raw[k], MetadataLimit-total-len(k))
		if !ok {
			delete(out, k)
			continue
		}
		out[k] = v
		total += len(k) + len(v)
	}
	return out
}

// MetadataSize is what S3 counts against MetadataLimit for m (values as
// sent).
func MetadataSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

func validMetadataKey(k string) bool {
	if k == "" || k[0] == '-' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// fitValue encodes s within max bytes, cutting it (with the hash suffix)
// when needed; ok is false when not even the suffix fits.
func fitValue(s string, max int) (string, bool) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if enc := encodeValue(s); len(enc) <= max {
		return enc, true
	}
	sum := sha256.Sum256([]byte(s))
	suffix := "~" + hex.EncodeToString(sum[:4])
	runes := []rune(s)
	// The largest prefix whose encoding with the suffix fits: the encoded
	// length grows with the prefix, so search.
	lo, hi := -1, len(runes)-1 // lo fits (-1: nothing does yet), hi+1 does not
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(encodeValue(string(runes[:mid])+suffix)) <= max {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo < 0 {
		return "", false
	}
	return encodeValue(string(runes[:lo]) + suffix), true
}

// encodeValue returns s as is when it is safe in a header and cannot be
// mistaken for an encoded-word, else as Q encoded-words.
func encodeValue(s string) string {
	if !needsWord(s) {
		return s
	}
	if enc := mime.QEncoding.Encode("utf-8", s); enc != s {
		return enc
	}
	// mime leaves printable ASCII and tabs alone: encode every byte that is
	// not a letter or digit ourselves.
	var b strings.Builder
	b.WriteString("=?utf-8?q?")
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	b.WriteString("?=")
	return b.String()
}

func needsWord(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' || strings.Contains(s, "=?") {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return true
		}
	}
	return false
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
