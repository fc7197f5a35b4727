package recdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The two files of earlier releases. Their formats are frozen here so that a
// directory left by such a release is still finalized correctly.

type legacyState struct {
	Status    string    `json:"status"` // failed, deadline, mismatch, done
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	Manifest  string    `json:"manifest"`
	Leftovers []string  `json:"leftovers"`
	Updated   time.Time `json:"updated"`
}

type legacyJournal struct {
	Version int                     `json:"version"`
	Files   map[string]*legacyEntry `json:"files"`
	// Manifest is the committed manifest key.
	Manifest string  `json:"manifest"`
	Layout   *Layout `json:"layout"`
}

type legacyEntry struct {
	Key       string    `json:"key"`
	UploadID  string    `json:"upload_id"`
	PartSize  int64     `json:"part_size"`
	Algorithm string    `json:"checksum_algorithm"`
	Size      int64     `json:"size"`
	ModTimeNs int64     `json:"mtime_ns"`
	Dev       uint64    `json:"dev"`
	Ino       uint64    `json:"ino"`
	Status    string    `json:"status"`
	VersionID string    `json:"version_id"`
	Checksum  string    `json:"checksum"`
	Parts     []Part    `json:"parts"`
	Started   time.Time `json:"started"`
}

// readLegacy builds a record from the files an earlier release left in dir.
// found is false when there are none.
func readLegacy(dir string) (rec *Record, found bool, err error) {
	rec = New()
	sb, serr := readSmall(filepath.Join(dir, legacyStateFile))
	jb, jerr := readSmall(filepath.Join(dir, legacyJournalFile))
	if errors.Is(serr, os.ErrNotExist) && errors.Is(jerr, os.ErrNotExist) {
		return rec, false, nil
	}
	var errs []error
	if serr == nil {
		var st legacyState
		if e := json.Unmarshal(sb, &st); e != nil {
			errs = append(errs, fmt.Errorf("%w: legacy state file: %v", ErrCorrupt, e))
		} else {
			rec.Attempts, rec.LastError, rec.Updated = max(st.Attempts, 0), st.LastError, st.Updated
			switch st.Status {
			case "failed", "deadline", "mismatch":
				rec.Outcome = Outcome(st.Status)
			case "done":
				rec.Manifest, rec.Leftovers = st.Manifest, st.Leftovers
			}
		}
	} else if !errors.Is(serr, os.ErrNotExist) {
		errs = append(errs, serr)
	}
	if jerr == nil {
		var j legacyJournal
		if e := json.Unmarshal(jb, &j); e != nil || j.Version != 1 {
			errs = append(errs, fmt.Errorf("%w: legacy journal: %v", ErrCorrupt, e))
		} else {
			rec.Layout = j.Layout
			if j.Manifest != "" {
				rec.Manifest = j.Manifest
			}
			for name, e := range j.Files {
				if e == nil || e.Key == "" {
					continue
				}
				f := &File{Key: e.Key, Size: e.Size, ModTimeNs: e.ModTimeNs, Dev: e.Dev, Ino: e.Ino, UploadID: e.UploadID,
					PartSize: e.PartSize, Algorithm: e.Algorithm, Parts: e.Parts, Started: e.Started, VersionID: e.VersionID, Checksum: e.Checksum}
				switch e.Status {
				case "uploading":
					f.Status = FileUploading
				case "completed":
					f.Status = FileCompleted
				}
				rec.Files[name] = f
			}
		}
	} else if !errors.Is(jerr, os.ErrNotExist) {
		errs = append(errs, jerr)
	}
	if rec.Manifest != "" && rec.Committed.IsZero() {
		rec.Committed = rec.Updated
	}
	if err := rec.check(); err != nil {
		errs = append(errs, err)
		rec = New()
	}
	return rec, true, errors.Join(errs...)
}

func readSmall(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxSize {
		return nil, fmt.Errorf("%w: %s is not a regular file of at most %d bytes", ErrCorrupt, filepath.Base(path), MaxSize)
	}
	return os.ReadFile(path)
}
