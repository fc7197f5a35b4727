package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sample() *Manifest {
	return &Manifest{
		Recording: Recording{SessionID: "abc", Room: "weekly-sync", StartedAt: time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC), MetadataStatus: "ok"},
		Bucket:    "recordings",
		Files:     []File{{Name: "a.mp4", Key: "rec/abc/a.mp4", Size: 10, ContentType: "video/mp4", ChecksumAlgorithm: "CRC32C", Checksum: "AAAAAA==", ChecksumType: "FULL_OBJECT", ETag: "e", VersionID: "v1", Parts: 1}},
		Uploader:  Uploader{Name: "finalize", Version: "test"},
		Attempts:  1,
	}
}

func TestRoundTrip(t *testing.T) {
	b, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != Version || m.Files[0].VersionID != "v1" || m.TotalBytes() != 10 {
		t.Fatalf("%+v", m)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := Encode(sample())
	tests := map[string]string{
		"not json":       "{",
		"other schema":   `{"schema":"x","version":1}`,
		"future version": strings.Replace(string(good), `"version": 1`, `"version": 99`, 1),
		"no files":       `{"schema":"` + Schema + `","version":1,"recording":{"session_id":"a"},"files":[]}`,
		"negative size":  strings.Replace(string(good), `"size": 10`, `"size": -1`, 1),
		"huge":           `{"schema":"` + Schema + `","pad":"` + strings.Repeat("x", MaxSize) + `"}`,
	}
	for name, in := range tests {
		if _, err := Decode([]byte(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEncodeRefusesEmpty(t *testing.T) {
	m := sample()
	m.Files = nil
	if _, err := Encode(m); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := Encode(sample())
	f.Add(good)
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(`{"schema":"jibri-s3/recording-manifest","version":1,"files":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		if _, err := Encode(m); err != nil {
			t.Fatalf("decoded manifest does not re-encode: %v", err)
		}
	})
}
