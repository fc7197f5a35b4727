package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/atomicfile"
)

// DefaultTTL is how long a probe's answer is reused: a store's behaviour
// changes with an upgrade or a configuration change, not between meetings.
const DefaultTTL = 24 * time.Hour

// Cache keeps probe reports in a JSON file (recdir.ProbeCache in the
// recordings root), keyed by endpoint, bucket and the settings probed, so
// that finalize and recwatch probe a store once a day, not once per run.
// A cache that cannot be read or written costs a probe, nothing else.
type Cache struct {
	Path string        // "" keeps nothing
	TTL  time.Duration // 0 means DefaultTTL
}

type cacheFile struct {
	Version int               `json:"version"`
	Reports map[string]Report `json:"reports"`
}

// Key names one probe: the same store with other settings is probed again.
func Key(endpoint string, o Options) string {
	if endpoint == "" {
		endpoint = "aws"
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s", endpoint, o.Bucket, o.Prefix, o.Checksum, o.SSE, o.KMSKeyID)
}

// Lookup returns a report younger than the TTL.
func (c Cache) Lookup(key string, now time.Time) (Report, bool) {
	f, err := c.read()
	if err != nil {
		return Report{}, false
	}
	r, ok := f.Reports[key]
	if !ok || r.Mode == "" || now.Sub(r.Time) > c.ttl() || r.Time.After(now.Add(time.Minute)) {
		return Report{}, false
	}
	return r, true
}

// Store records r under key (and drops expired entries).
func (c Cache) Store(key string, r Report, now time.Time) error {
	if c.Path == "" {
		return nil
	}
	f, err := c.read()
	if err != nil {
		f = cacheFile{}
	}
	if f.Reports == nil {
		f.Reports = map[string]Report{}
	}
	for k, old := range f.Reports {
		if now.Sub(old.Time) > c.ttl() {
			delete(f.Reports, k)
		}
	}
	f.Version, f.Reports[key] = 1, r
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
		return fmt.Errorf("probe cache: %w", err)
	}
	if err := atomicfile.Write(c.Path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("probe cache: %w", err)
	}
	return nil
}

func (c Cache) ttl() time.Duration {
	if c.TTL <= 0 {
		return DefaultTTL
	}
	return c.TTL
}

func (c Cache) read() (cacheFile, error) {
	var f cacheFile
	if c.Path == "" {
		return f, fs.ErrNotExist
	}
	b, err := os.ReadFile(c.Path)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return cacheFile{}, fmt.Errorf("probe cache %s: %w", c.Path, err)
	}
	if f.Version != 1 {
		return cacheFile{}, errors.New("probe cache: unknown version")
	}
	return f, nil
}

// Resolver returns the function upload.Options.ResolveVerify wants: the
// mode from a fresh cached report, else from a probe (then cached). report
// is told about every probe actually run (for the log).
func Resolver(api API, o Options, endpoint string, cache Cache, report func(Report, error)) func(context.Context) (string, error) {
	var mu sync.Mutex
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		key := Key(endpoint, o)
		now := time.Now()
		if r, ok := cache.Lookup(key, now); ok {
			return r.Mode, nil
		}
		r, err := Run(ctx, api, o)
		if report != nil {
			report(r, err)
		}
		if err != nil {
			return "", err
		}
		_ = cache.Store(key, r, now) // a cache that cannot be written costs a probe next time
		return r.Mode, nil
	}
}
