package recdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Read returns the record of dir without writing anything (for inventory
// and status). It migrates in memory what an earlier release left. found
// is false when dir holds no record at all.
func Read(dir string) (rec *Record, found bool, err error) {
	b, err := readSmall(filepath.Join(dir, RecordFile))
	switch {
	case err == nil:
		r, err := Decode(b)
		if err != nil {
			return New(), true, err
		}
		return r, true, nil
	case errors.Is(err, os.ErrNotExist):
		return readLegacy(dir)
	default:
		return New(), true, fmt.Errorf("recdir: cannot read the record of %s: %w", dir, err)
	}
}

// Store holds a recording's record in memory for the lock holder and
// writes it through one atomic commit. Changes made with Update are
// written in the background, coalesced, so part uploads never wait on
// fsync; Commit and Flush wait until the record is on disk.
type Store struct {
	dir string
	// Failpoint, when set, is called between writing the temp file and
	// renaming it (fault-injection tests kill the process there).
	Failpoint func(name string)

	mu       sync.Mutex
	rec      *Record
	legacy   bool // legacy files to remove once the record is on disk
	existed  bool // dir held a record (or legacy files) when opened
	dirty    bool
	writing  bool
	err      error
	idle     *sync.Cond
	persistP map[string]int // parts of each file on disk, for part throttling
	stats    Stats
}

// Stats counts the store's writes.
type Stats struct {
	Writes int   // atomic commits
	Bytes  int64 // bytes written (temp file contents)
	Fsyncs int   // fsync calls (file and directory)
}

// Open loads dir's record into a Store, migrating what an earlier release
// left. A corrupt record is reported and replaced by an empty one:
// uploads start over (nothing is lost, at worst sent again).
func Open(dir string) (*Store, error) {
	rec, found, err := Read(dir)
	s := &Store{dir: dir, rec: rec, persistP: map[string]int{}}
	s.idle = sync.NewCond(&s.mu)
	s.existed = found
	if found {
		if _, statErr := os.Lstat(filepath.Join(dir, RecordFile)); errors.Is(statErr, os.ErrNotExist) {
			s.legacy = true
		}
	}
	for name, f := range rec.Files {
		s.persistP[name] = len(f.Parts)
	}
	return s, err
}

// Existed reports whether the directory held a record, or the files of an
// earlier release, when the store was opened.
func (s *Store) Existed() bool { return s.existed }

// Dir returns the recording directory.
func (s *Store) Dir() string { return s.dir }

// Record returns a copy of the record.
func (s *Store) Record() *Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Clone()
}

// Stats returns what the store has written so far.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Update changes the record and schedules a background write.
func (s *Store) Update(f func(r *Record)) {
	s.mu.Lock()
	f(s.rec)
	s.schedule()
	s.mu.Unlock()
}

// Commit changes the record and waits until it is on disk. The error is
// the first write error since Open.
func (s *Store) Commit(f func(r *Record)) error {
	s.Update(f)
	return s.Flush()
}

// schedule marks the record dirty and starts the writer; s.mu is held.
func (s *Store) schedule() {
	s.dirty = true
	if !s.writing {
		s.writing = true
		go s.writer()
	}
}

func (s *Store) writer() {
	s.mu.Lock()
	for s.dirty {
		s.dirty = false
		s.rec.Version = Version
		s.rec.Updated = time.Now().UTC()
		b, err := encode(s.rec)
		parts := make(map[string]int, len(s.rec.Files))
		for name, f := range s.rec.Files {
			parts[name] = len(f.Parts)
		}
		legacy := s.legacy
		s.mu.Unlock()
		if err == nil {
			err = s.write(b)
		}
		if err == nil && legacy {
			err = removeNames(s.dir, legacyStateFile, legacyJournalFile)
		}
		s.mu.Lock()
		if err == nil {
			s.stats.Writes++
			s.stats.Bytes += int64(len(b))
			s.stats.Fsyncs += 2
			s.persistP = parts
			if legacy {
				s.legacy = false
			}
		} else if s.err == nil {
			s.err = err
		}
	}
	s.writing = false
	s.idle.Broadcast()
	s.mu.Unlock()
}

// write is the one atomic commit of the record: temp file, fsync, rename,
// fsync of the directory.
func (s *Store) write(b []byte) error {
	tmp := filepath.Join(s.dir, TempFile)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("recdir: cannot write the record: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("recdir: cannot write the record: %w", err)
	}
	if s.Failpoint != nil {
		s.Failpoint("record-before-rename")
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, RecordFile)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("recdir: cannot commit the record: %w", err)
	}
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Flush waits until the latest changes are on disk and returns the first
// write error, if any.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unpersistedParts() {
		s.schedule()
	}
	for s.writing {
		s.idle.Wait()
	}
	return s.err
}

func (s *Store) unpersistedParts() bool {
	for name, f := range s.rec.Files {
		if len(f.Parts) != s.persistP[name] {
			return true
		}
	}
	return false
}

// Err returns the first write error without waiting.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// RemoveOurs deletes every file this program wrote into dir, by exact
// name, the record last (it is the commit marker). Missing names are fine.
func RemoveOurs(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("recdir: cannot list %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if legacyTemp.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	names = append(names, ownNames...)
	return removeNames(dir, names...)
}

func removeNames(dir string, names ...string) error {
	for _, name := range names {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("recdir: cannot delete %s: %w", name, err)
		}
	}
	return nil
}

// Save writes rec as the record of dir, as it is (Updated included),
// through the same atomic commit. It is for tools and tests that hold the
// directory or own it; the pipeline writes through a Store.
func Save(dir string, rec *Record) error {
	rec.Version = Version
	if err := rec.check(); err != nil {
		return err
	}
	b, err := encode(rec)
	if err != nil {
		return err
	}
	return (&Store{dir: dir}).write(b)
}
