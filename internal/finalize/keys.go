package finalize

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/jitsi-recorder/jibri-s3/internal/keytmpl"
	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// objectKeys renders a key for every media file and for the manifest. Two
// names that sanitize to the same key (or to the manifest's key) get a short
// hash of their original name appended, so no file overwrites another.
func objectKeys(t *keytmpl.Template, prefix string, rec *recording.Recording) (media []string, manifestKey string, err error) {
	fields := keytmpl.Fields{Prefix: prefix, Time: rec.Start, Tenant: rec.Tenant, Room: rec.Room, Session: rec.Session}
	fields.File = manifest.FileName
	manifestKey, err = t.Render(fields)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrUsage, err)
	}
	used := map[string]bool{manifestKey: true}
	for _, m := range rec.Media {
		fields.File = m.Name
		key, err := t.Render(fields)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrUsage, err)
		}
		if used[key] {
			sum := sha256.Sum256([]byte(m.Name))
			ext := path.Ext(key)
			fields.File = strings.TrimSuffix(m.Name, path.Ext(m.Name)) + "~" + hex.EncodeToString(sum[:4]) + ext
			if key, err = t.Render(fields); err != nil {
				return nil, "", fmt.Errorf("%w: %v", ErrUsage, err)
			}
		}
		if used[key] {
			return nil, "", fmt.Errorf("%w: two files map to the key %q", ErrUsage, key)
		}
		used[key] = true
		media = append(media, key)
	}
	return media, manifestKey, nil
}
