package journal

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	s.Update(func(j *Journal) {
		j.Files["a.mp4"] = &Entry{Key: "k", UploadID: "u", PartSize: 5, Size: 20, Status: StatusUploading}
	})
	for i := 1; i <= 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Update(func(j *Journal) {
				j.Files["a.mp4"].Parts = append(j.Files["a.mp4"].Parts, Part{Number: int32(i), Size: 5, ETag: "e"})
			})
		}()
	}
	wg.Wait()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	j, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if e := j.Files["a.mp4"]; e == nil || len(e.Parts) != 4 || e.UploadID != "u" {
		t.Fatalf("%+v", j.Files)
	}
}

func TestCorruptJournalStartsOver(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, File), []byte(`{"version":1,"files":{"a":{"key":""}}}`), 0o644)
	s, err := Open(dir)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
	if _, ok := s.Get("a"); ok {
		t.Fatal("corrupt entry kept")
	}
}

func TestUnwritableJournalIsAnErrorNotAPanic(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, File), 0o755) // a directory where the file should go
	os.WriteFile(filepath.Join(dir, File, "x"), nil, 0o644)
	s, _ := Open(dir)
	s.Update(func(j *Journal) { j.Files["a"] = &Entry{Key: "k", Status: StatusUploading} })
	if err := s.Flush(); err == nil {
		t.Fatal("no error for an unwritable journal")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"version":1,"files":{"a.mp4":{"key":"k","upload_id":"u","part_size":5242880,"size":10485760,"status":"uploading","parts":[{"n":1,"size":5242880,"etag":"e","checksum":"AAAAAA=="}]}}}`))
	f.Add([]byte(`{"version":1,"files":{"a.mp4":{"key":"k","status":"completed","version_id":"v"}},"manifest":"m"}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"files":{"a":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := Decode(b)
		if err != nil {
			return
		}
		for _, e := range j.Files {
			if e == nil || e.Key == "" {
				t.Fatal("invalid entry accepted")
			}
		}
	})
}
