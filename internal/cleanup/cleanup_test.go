package cleanup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/fakes3"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

// verifiedDir uploads every listed media file to gofakes3 and returns the
// Verified results: the only way to obtain them.
func verifiedDir(t *testing.T, files map[string]string, extra func(dir string)) (string, []upload.Verified) {
	t.Helper()
	srv, err := fakes3.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.CreateBucket("b")
	client, err := s3conn.New(context.Background(), srv.Conn())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "session")
	os.Mkdir(dir, 0o755)
	for name, content := range files {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{}`), 0o644)
	if extra != nil {
		extra(dir)
	}
	rec, err := recording.Scan(dir, recording.Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	up := upload.New(client, upload.Options{Bucket: "b"})
	var out []upload.Verified
	for _, m := range rec.Media {
		v, err := up.Upload(context.Background(), m, upload.Object{Key: m.Name})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return dir, out
}

func TestRemovesVerifiedAndDirectory(t *testing.T) {
	dir, vs := verifiedDir(t, map[string]string{"a.mp4": "aaa", "b.mkv": "bbb"}, nil)
	os.WriteFile(filepath.Join(dir, recdir.RecordFile), []byte(`{}`), 0o644)
	rep, err := Remove(dir, vs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DirRemoved || len(rep.Deleted) != 2 {
		t.Fatalf("%+v", rep)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("directory left")
	}
}

func TestKeepsWhatWasNotVerified(t *testing.T) {
	dir, vs := verifiedDir(t, map[string]string{"a.mp4": "aaa"}, func(dir string) {
		os.WriteFile(filepath.Join(dir, "empty.mp4"), nil, 0o644)
	})
	// A file that appears after the upload is pending, not deleted.
	os.WriteFile(filepath.Join(dir, "late.mp4"), []byte("late"), 0o644)
	rep, err := Remove(dir, vs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DirRemoved || len(rep.Pending) != 1 || len(rep.Leftovers) != 2 {
		t.Fatalf("%+v", rep)
	}
	for _, name := range []string{"late.mp4", "empty.mp4", "metadata.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s removed", name)
		}
	}
}

func TestRefusesChangedFiles(t *testing.T) {
	dir, vs := verifiedDir(t, map[string]string{"a.mp4": "aaa", "b.mp4": "bbb"}, nil)
	// b.mp4 is rewritten after verification: nothing may be deleted.
	p := filepath.Join(dir, "b.mp4")
	os.WriteFile(p, []byte("bbbb"), 0o644)
	future := time.Now().Add(time.Hour)
	os.Chtimes(p, future, future)
	_, err := Remove(dir, vs, Options{})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("got %v", err)
	}
	for _, name := range []string{"a.mp4", "b.mp4"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s deleted despite refusal", name)
		}
	}
}

func TestRefusesReplacedFile(t *testing.T) {
	dir, vs := verifiedDir(t, map[string]string{"a.mp4": "aaa"}, nil)
	p := filepath.Join(dir, "a.mp4")
	fi, _ := os.Stat(p)
	os.Remove(p)
	os.Symlink("/etc/passwd", p)
	_ = fi.Sys().(*syscall.Stat_t)
	if _, err := Remove(dir, vs, Options{}); !errors.Is(err, ErrRefused) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Fatal(err)
	}
}

func TestFinishesCommittedCleanup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{}`), 0o644)
	os.WriteFile(filepath.Join(dir, recdir.RecordFile), []byte(`{}`), 0o644)
	rep, err := Remove(dir, nil, Options{})
	if err != nil || !rep.DirRemoved {
		t.Fatalf("%+v %v", rep, err)
	}
}

// A user's file whose name starts with our prefix is not ours: cleanup
// must keep it (it was never uploaded), and so the directory.
func TestKeepsForeignPrefixedFile(t *testing.T) {
	dir, vs := verifiedDir(t, map[string]string{"a.mp4": "aaa"}, func(dir string) {
		os.WriteFile(filepath.Join(dir, ".finalize-notes.txt"), []byte("not ours"), 0o644)
	})
	// verifiedDir uploaded .finalize-notes.txt too (it is media); keep only
	// a.mp4's result to model a run that did not upload it.
	var keep []upload.Verified
	for _, v := range vs {
		if v.Media().Name == "a.mp4" {
			keep = append(keep, v)
		}
	}
	rep, err := Remove(dir, keep, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DirRemoved || len(rep.Pending) != 1 {
		t.Fatalf("%+v", rep)
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".finalize-notes.txt")); err != nil || string(b) != "not ours" {
		t.Fatalf("foreign file removed: %v", err)
	}
}
