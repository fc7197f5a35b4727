package lock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestExclusive(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second acquire: %v, want ErrLocked", err)
	}
	if !IsLocked(dir) {
		t.Fatal("IsLocked = false while held")
	}
	if HolderPID(dir) != os.Getpid() {
		t.Fatalf("holder pid %d", HolderPID(dir))
	}
	l.Release()
	if IsLocked(dir) {
		t.Fatal("IsLocked = true after release")
	}
	if _, err := os.Stat(filepath.Join(dir, InfoFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("info file left behind")
	}
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	l2.Release()
}

func TestGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	if _, err := Acquire(dir); !errors.Is(err, ErrGone) {
		t.Fatalf("missing dir: %v", err)
	}
	// Removed while held: a later acquire of the same path fails cleanly.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, InfoFile))
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	l.Release()
	if _, err := Acquire(dir); !errors.Is(err, ErrGone) {
		t.Fatalf("removed dir: %v", err)
	}
}
