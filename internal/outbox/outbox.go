package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jitsi-recorder/jibri-s3/internal/atomicfile"
	"github.com/jitsi-recorder/jibri-s3/internal/event"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

// Schema identifies an outbox file.
const Schema = "jibri-s3/outbox-entry"

// Version is the schema version this package writes.
const Version = 1

const (
	entrySuffix = ".json"
	lockSuffix  = ".lock"
	maxEntry    = event.MaxSize + 1<<20
)

// Entry is one event waiting for its webhooks.
type Entry struct {
	Schema      string             `json:"schema"`
	Version     int                `json:"version"`
	ID          string             `json:"id"`
	Type        string             `json:"type"`
	Session     string             `json:"session_id"`
	ManifestKey string             `json:"manifest_key"`
	QueuedAt    time.Time          `json:"queued_at"`
	Event       json.RawMessage    `json:"event"`
	Targets     map[string]*Target `json:"targets"` // by webhook.Endpoint.ID
}

// Target is the delivery state of the event for one endpoint.
type Target struct {
	Endpoint    string    `json:"endpoint"` // scheme://host, for people
	Attempts    int       `json:"attempts"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastStatus  int       `json:"last_status,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	NextAt      time.Time `json:"next_attempt,omitzero"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	Gone        bool      `json:"gone,omitempty"` // 410: the endpoint wants no more of it
}

// Done reports whether nothing more is owed to this endpoint.
func (t *Target) Done() bool { return t != nil && (!t.DeliveredAt.IsZero() || t.Gone) }

// Outbox is the event directory of one recordings root.
type Outbox struct{ dir string }

// Open returns the outbox of a recordings root (the directory is created
// by the first Enqueue).
func Open(root string) *Outbox { return &Outbox{dir: recdir.OutboxPath(root)} }

// Dir returns the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

func (o *Outbox) path(id string) string { return filepath.Join(o.dir, id+entrySuffix) }

// Enqueue stores ev, durably, before the caller records the commit. An
// event with the same id already queued (the same objects committed
// again) keeps its delivery state and gets the new body.
func (o *Outbox) Enqueue(ev *event.Event, now time.Time) error {
	body, err := event.Encode(ev)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return fmt.Errorf("outbox: cannot create %s: %w", o.dir, err)
	}
	l, err := o.lock(ev.ID, true)
	if err != nil {
		return err
	}
	defer l.unlock()
	e, err := o.read(ev.ID)
	switch {
	case errors.Is(err, os.ErrNotExist):
		e = &Entry{ID: ev.ID, QueuedAt: now.UTC(), Targets: map[string]*Target{}}
	case err != nil:
		return err
	}
	e.Type, e.Session, e.ManifestKey, e.Event = ev.Type, ev.Recording.SessionID, ev.Manifest.Key, body
	return o.write(e)
}

func (o *Outbox) write(e *Entry) error {
	e.Schema, e.Version = Schema, Version
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("outbox: cannot encode %s: %w", e.ID, err)
	}
	if err := atomicfile.Write(o.path(e.ID), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// ErrCorrupt reports an outbox file that cannot be read as an entry.
var ErrCorrupt = errors.New("outbox: corrupt entry")

func (o *Outbox) read(id string) (*Entry, error) {
	f, err := os.Open(o.path(id))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var e Entry
	dec := json.NewDecoder(&limited{f, maxEntry})
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, id, err)
	}
	if e.Schema != Schema || e.Version < 1 || e.Version > Version || e.ID != id {
		return nil, fmt.Errorf("%w: %s: schema %q version %d id %q", ErrCorrupt, id, e.Schema, e.Version, e.ID)
	}
	if _, err := event.Decode(e.Event); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, id, err)
	}
	if e.Targets == nil {
		e.Targets = map[string]*Target{}
	}
	return &e, nil
}

type limited struct {
	f *os.File
	n int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("entry too large")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// Listed is an entry as found on disk: Err is set, and Entry holds only
// the id, for a file that cannot be read (kept, listed, never deleted).
type Listed struct {
	Entry
	Err error
}

// IDs returns the ids of the events in the outbox, sorted.
func (o *Outbox) IDs() ([]string, error) {
	des, err := os.ReadDir(o.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: cannot read %s: %w", o.dir, err)
	}
	var ids []string
	for _, de := range des {
		id, ok := strings.CutSuffix(de.Name(), entrySuffix)
		if ok && de.Type().IsRegular() && event.ValidID(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// List returns every entry, the unreadable ones with Err set, oldest first.
func (o *Outbox) List() ([]Listed, error) {
	ids, err := o.IDs()
	if err != nil {
		return nil, err
	}
	var out []Listed
	for _, id := range ids {
		e, err := o.read(id)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue // delivered meanwhile
		case err != nil:
			l := Listed{Err: err}
			l.ID = id
			if fi, serr := os.Stat(o.path(id)); serr == nil {
				l.QueuedAt = fi.ModTime().UTC()
			}
			out = append(out, l)
		default:
			out = append(out, Listed{Entry: *e})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].QueuedAt.Before(out[j].QueuedAt) })
	return out, nil
}

// entryLock is the flock on an event's lock file.
type entryLock struct{ f *os.File }

// errBusy: another process is delivering this event right now.
var errBusy = errors.New("outbox: event busy")

func (o *Outbox) lock(id string, wait bool) (*entryLock, error) {
	f, err := os.OpenFile(filepath.Join(o.dir, id+lockSuffix), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("outbox: cannot open the lock of %s: %w", id, err)
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errBusy
		}
		return nil, fmt.Errorf("outbox: cannot lock %s: %w", id, err)
	}
	return &entryLock{f: f}, nil
}

func (l *entryLock) unlock() { l.f.Close() }

// remove deletes a finished entry and its lock file, under the lock.
func (o *Outbox) remove(id string) error {
	if err := os.Remove(o.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("outbox: cannot remove %s: %w", id, err)
	}
	_ = os.Remove(filepath.Join(o.dir, id+lockSuffix))
	if d, err := os.Open(o.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Roots queues events in the outbox of whichever recordings root a
// recording is in (finalize.Events).
type Roots struct{}

// Enqueue stores ev in root's outbox.
func (Roots) Enqueue(root string, ev *event.Event, now time.Time) error {
	return Open(root).Enqueue(ev, now)
}
