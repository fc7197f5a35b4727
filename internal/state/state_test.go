package state

import (
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Read(dir)
	if err != nil || s.Attempts != 0 || s.Status != "" {
		t.Fatalf("empty dir: %+v, %v", s, err)
	}
	want := State{Status: StatusFailed, Attempts: 3, LastError: "upload: endpoint down", Updated: time.Now()}
	if err := Write(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil || got.Status != want.Status || got.Attempts != 3 || got.LastError != want.LastError {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"status":"failed","attempts":2}`))
	f.Add([]byte(`{"attempts":-5}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err == nil && s.Attempts < 0 {
			t.Fatal("negative attempts")
		}
	})
}
