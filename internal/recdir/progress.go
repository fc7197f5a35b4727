package recdir

import "time"

// The methods below make a Store the upload progress of its recording
// (upload.Progress): what an earlier run did for a file, and what this run
// does.

// Earlier returns what the record holds for the file name.
func (s *Store) Earlier(name string) (File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.rec.Files[name]
	if !ok {
		return File{}, false
	}
	c := *f
	c.Parts = append([]Part(nil), f.Parts...)
	return c, true
}

// Begin records a new upload of the file: it replaces the identity, part
// size, algorithm, upload id and parts recorded before (the key stays
// pinned, and so does what finalize found of the file's contents:
// Unplayable). Written in the background; write errors surface in Flush.
func (s *Store) Begin(name string, f File) {
	s.Update(func(r *Record) {
		if old, ok := r.Files[name]; ok {
			if old.Key != "" {
				f.Key = old.Key
			}
			f.Unplayable = old.Unplayable
		}
		f.Status, f.Parts, f.VersionID, f.Checksum = FileUploading, nil, "", ""
		if f.Started.IsZero() {
			f.Started = time.Now().UTC()
		}
		r.Files[name] = &f
	})
}

// Part records a stored part of the upload uploadID of the file. Parts of
// another upload, or of a completed file, are ignored. Parts are written in
// batches that grow with the upload (at most an eighth of the parts on disk
// are ever missing from it): ListParts is the truth for parts, the record
// only speeds up a resume.
func (s *Store) Part(name, uploadID string, p Part) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.rec.Files[name]
	if !ok || f.UploadID != uploadID || f.Status != FileUploading {
		return
	}
	f.Parts = append(f.Parts, p)
	if len(f.Parts)-s.persistP[name] >= max(1, s.persistP[name]/8) {
		s.schedule()
	}
}

// Complete records that the file is stored as versionID with the
// full-object checksum sum, and waits until that is on disk. An error
// means it may not be: the object is still stored and verified, and a run
// that does not find it recorded reads the file again and proves S3 holds
// it, or uploads a new version; nothing is lost.
func (s *Store) Complete(name, key, versionID, sum string, f File) error {
	return s.Commit(func(r *Record) {
		e, ok := r.Files[name]
		if !ok || e.Status != FileUploading || e.Key != key {
			f.Key = key
			if ok {
				f.Unplayable = e.Unplayable
			}
			e = &f
			r.Files[name] = e
		}
		e.Status, e.VersionID, e.Checksum = FileCompleted, versionID, sum
	})
}
