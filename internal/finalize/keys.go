package finalize

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/jitsi-recorder/jibri-s3/internal/keytmpl"
	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// objectKeys returns a key for every media file and for the manifest. A key
// pinned in the record by an earlier run is reused as it is, so keys never
// move with what is still on disk. A new file's key is rendered; when it
// collides with the manifest's key or with any key already pinned (files
// deleted since included) or given out in this call, a short hash of the
// original name is appended, so no file overwrites another.
func objectKeys(t *keytmpl.Template, prefix string, rec *recording.Recording, pinned map[string]*recdir.File) (media []string, manifestKey string, err error) {
	fields := keytmpl.Fields{Prefix: prefix, Time: rec.Start, Tenant: rec.Tenant, Room: rec.Room, Session: rec.Session}
	fields.File = manifest.FileName
	manifestKey, err = t.Render(fields)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrUsage, err)
	}
	used := map[string]string{manifestKey: manifest.FileName}
	names := make([]string, 0, len(pinned))
	for name := range pinned {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if f := pinned[name]; f != nil && f.Key != "" {
			if other, dup := used[f.Key]; dup {
				return nil, "", fmt.Errorf("%w: the record pins the key %q for both %q and %q", ErrUsage, f.Key, other, name)
			}
			used[f.Key] = name
		}
	}
	for _, m := range rec.Media {
		if f := pinned[m.Name]; f != nil && f.Key != "" {
			media = append(media, f.Key)
			continue
		}
		fields.File = m.Name
		key, err := t.Render(fields)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrUsage, err)
		}
		if _, dup := used[key]; dup {
			sum := sha256.Sum256([]byte(m.Name))
			ext := path.Ext(key)
			fields.File = strings.TrimSuffix(m.Name, path.Ext(m.Name)) + "~" + hex.EncodeToString(sum[:4]) + ext
			if key, err = t.Render(fields); err != nil {
				return nil, "", fmt.Errorf("%w: %v", ErrUsage, err)
			}
		}
		if other, dup := used[key]; dup {
			return nil, "", fmt.Errorf("%w: %q and %q map to the key %q", ErrUsage, other, m.Name, key)
		}
		used[key] = m.Name
		media = append(media, key)
	}
	return media, manifestKey, nil
}
