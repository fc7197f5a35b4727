package recdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIsOurs(t *testing.T) {
	tests := []struct {
		name string
		ours bool
	}{
		{RecordFile, true},
		{TempFile, true},
		{LockInfoFile, true},
		{".finalize-state.json", true},
		{".finalize-journal.json", true},
		{"..finalize-journal.json.tmp-123456789", true}, // temp file of an earlier release
		{"..finalize-state.json.tmp-42", true},
		{".finalize-notes.txt", false}, // a user's file that shares our prefix
		{".finalize", false},
		{".finalize-record.json.bak", false},
		{"..finalize-journal.json.tmp-", false},
		{"..finalize-journal.json.tmp-12x", false},
		{"metadata.json", false},
		{"room_2026-11-24-10-00-00.mp4", false},
	}
	for _, tt := range tests {
		if got := IsOurs(tt.name); got != tt.ours {
			t.Errorf("IsOurs(%q) = %v, want %v", tt.name, got, tt.ours)
		}
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// A directory an earlier release left (state file and journal) is read as
// one record, and the legacy files are removed once the record is written.
func TestMigration(t *testing.T) {
	tests := []struct {
		dir   string
		check func(t *testing.T, r *Record)
	}{
		{"failed", func(t *testing.T, r *Record) {
			f := r.Files["room_2026-11-24-10-00-00.mp4"]
			if r.Attempts != 3 || r.Outcome != OutcomeDeadline || r.Layout == nil || r.Layout.Room != "room" ||
				f == nil || f.Status != FileUploading || f.UploadID != "up-1" || len(f.Parts) != 2 || f.Key != "recordings/2026/11/24/room/s1/room_2026-11-24-10-00-00.mp4" {
				t.Fatalf("%+v %+v", r, f)
			}
		}},
		{"committed-cleanup-cut", func(t *testing.T, r *Record) {
			if !r.IsCommitted() || r.Files["a_2026-11-24-10-00-00.mp4"].Status != FileCompleted || r.Files["a_2026-11-24-10-00-00.mp4"].VersionID != "v1" {
				t.Fatalf("%+v", r)
			}
		}},
		{"done-leftovers", func(t *testing.T, r *Record) {
			if !r.IsCommitted() || r.Manifest != "recordings/x/manifest.json" || len(r.Leftovers) != 1 || r.Failed() {
				t.Fatalf("%+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := copyDir(t, filepath.Join("testdata", "legacy", tt.dir))
			r, found, err := Read(dir)
			if err != nil || !found {
				t.Fatalf("read: %v %v", found, err)
			}
			tt.check(t, r)
			s, err := Open(dir)
			if err != nil || !s.Existed() {
				t.Fatalf("open: %v", err)
			}
			if err := s.Commit(func(r *Record) { r.Attempts++ }); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{legacyStateFile, legacyJournalFile} {
				if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left after migration", name)
				}
			}
			again, _, err := Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			again.Attempts--
			tt.check(t, again)
		})
	}
}

func TestCorruptRecordStartsOver(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, RecordFile), []byte(`{"version":2,"files":{"a":{"key":""}}}`), 0o644)
	s, err := Open(dir)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
	if r := s.Record(); len(r.Files) != 0 || r.Attempts != 0 {
		t.Fatalf("%+v", r)
	}
}

// Every write goes through the temp file and a rename: after any number of
// concurrent updates the record on disk is whole and the temp file gone.
func TestStoreCommit(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Begin("a.mp4", File{Key: "k", UploadID: "u", PartSize: 5, Size: 200})
	var wg sync.WaitGroup
	for i := 1; i <= 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Part("a.mp4", "u", Part{Number: int32(i), Size: 5, ETag: "e"})
		}()
	}
	s.Part("a.mp4", "other-upload", Part{Number: 1, Size: 5})
	wg.Wait()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	r, _, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f := r.Files["a.mp4"]; f == nil || len(f.Parts) != 40 || f.UploadID != "u" || f.Status != FileUploading {
		t.Fatalf("%+v", r.Files["a.mp4"])
	}
	if _, err := os.Stat(filepath.Join(dir, TempFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temp file left")
	}
	// Begin of a new upload replaces the identity and the parts, never the
	// pinned key.
	s.Begin("a.mp4", File{Key: "other", UploadID: "u2", PartSize: 8, Size: 300, Ino: 9})
	if err := s.Complete("a.mp4", "k", "v1", "sum", File{}); err != nil {
		t.Fatal(err)
	}
	f, _ := s.Earlier("a.mp4")
	if f.Key != "k" || f.UploadID != "u2" || f.PartSize != 8 || f.Size != 300 || f.Ino != 9 || len(f.Parts) != 0 || f.Status != FileCompleted || f.VersionID != "v1" {
		t.Fatalf("%+v", f)
	}
}

// The record must not raise the cost per part: for 512 parts (an 8 GiB
// recording in 16 MiB parts) it writes at most 2 MiB.
func TestRecordCostPerPart(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	s.Begin("room_2026-11-24-10-00-00.mp4", File{Key: strings.Repeat("k", 120), UploadID: strings.Repeat("u", 140), PartSize: 16 << 20, Size: 8 << 30})
	for i := 1; i <= 512; i++ {
		s.Part("room_2026-11-24-10-00-00.mp4", strings.Repeat("u", 140), Part{Number: int32(i), Size: 16 << 20, ETag: `"0123456789abcdef0123456789abcdef"`, Checksum: "AAAAAA=="})
		if i%4 == 0 {
			time.Sleep(100 * time.Microsecond) // let the background writer run, as real part uploads do
		}
	}
	if err := s.Complete("room_2026-11-24-10-00-00.mp4", strings.Repeat("k", 120), "v", "AAAAAA==", File{}); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	t.Logf("512 parts: %d writes, %d bytes, %d fsyncs", st.Writes, st.Bytes, st.Fsyncs)
	if st.Bytes > 2<<20 {
		t.Fatalf("record wrote %d bytes for 512 parts (target at most 2 MiB)", st.Bytes)
	}
}

func TestRemoveOurs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{RecordFile, TempFile, LockInfoFile, legacyStateFile, "..finalize-journal.json.tmp-99", ".finalize-notes.txt", "metadata.json"} {
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644)
	}
	if err := RemoveOurs(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, ",") != ".finalize-notes.txt,metadata.json" {
		t.Fatalf("left %v", left)
	}
}

func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"failed", "committed-cleanup-cut"} {
		s, _ := Open(copyDirF(f, filepath.Join("testdata", "legacy", dir)))
		b, _ := encode(s.Record())
		f.Add(b)
	}
	f.Add([]byte(`{"version":2,"files":{"a":{"key":"k","status":"bogus"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		// What Decode accepts encodes and decodes again to the same record.
		out, err := encode(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(out); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func copyDirF(f *testing.F, src string) string {
	dst := f.TempDir()
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(src, e.Name()))
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
	return dst
}
