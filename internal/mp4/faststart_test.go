package mp4_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
)

// materialize writes the rearranged object to a file for ffmpeg to read.
func materialize(t *testing.T, f *mp4.Faststart, path string) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, io.NewSectionReader(f, 0, f.Size())); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, path string) (*os.File, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return f, fi.Size()
}

func digest(t *testing.T, r io.ReaderAt, size int64) [32]byte {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		t.Fatal(err)
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

// TestFaststartFFmpeg rearranges a recording made like Jibri's and checks
// it against ffmpeg: the same decoded frames, the same box order as
// ffmpeg's own -movflags +faststart, and the same bytes from two plans.
func TestFaststartFFmpeg(t *testing.T) {
	src := mediatest.Make(t, mediatest.Spec{Variant: mediatest.Plain, Length: 5 * time.Second})
	r, size := open(t, src)
	fs, err := mp4.NewFaststart(r, size)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	obj := filepath.Join(dir, "object.mp4")
	materialize(t, fs, obj)

	ref := filepath.Join(dir, "ffmpeg-faststart.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", src, "-map", "0", "-c", "copy", "-movflags", "+faststart", ref).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg faststart: %v: %s", err, out)
	}
	srcOrder, objOrder, refOrder := mediatest.RootBoxes(t, src), mediatest.RootBoxes(t, obj), mediatest.RootBoxes(t, ref)
	t.Logf("source %v, object %v, ffmpeg +faststart %v", srcOrder, objOrder, refOrder)
	if strings.Join(objOrder, " ") != strings.Join(refOrder, " ") {
		t.Errorf("object boxes %v, ffmpeg +faststart gives %v", objOrder, refOrder)
	}
	if i, j := index(objOrder, "moov"), index(objOrder, "mdat"); i < 0 || j < 0 || i > j {
		t.Errorf("object boxes %v: moov does not come before mdat", objOrder)
	}
	if index(srcOrder, "moov") < index(srcOrder, "mdat") {
		t.Fatalf("source boxes %v: the test needs the moov after mdat", srcOrder)
	}

	if a, b := mediatest.FrameMD5(t, src), mediatest.FrameMD5(t, obj); a != b {
		t.Errorf("decoded frames differ:\nsource:\n%s\nobject:\n%s", head(a), head(b))
	}
	if fs.Size() != size || fs.Widened() != 0 {
		t.Errorf("object is %d bytes with %d tables widened, want %d bytes and none", fs.Size(), fs.Widened(), size)
	}

	in, err := mp4.Inspect(r, size)
	if err != nil {
		t.Fatal(err)
	}
	o, err := mp4.Inspect(fs, fs.Size())
	if err != nil {
		t.Fatal(err)
	}
	if !o.Faststart || !o.Playable || o.Duration != in.Duration || len(o.Tracks) != len(in.Tracks) {
		t.Errorf("object: faststart %v, playable %v (%s), %v, %d tracks; source %v, %d tracks", o.Faststart, o.Playable, o.Reason, o.Duration, len(o.Tracks), in.Duration, len(in.Tracks))
	}

	again, err := mp4.NewFaststart(r, size)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, fs, fs.Size()) != digest(t, again, again.Size()) {
		t.Error("two plans of the same file give different bytes")
	}
	refFile, refSize := open(t, ref)
	if refSize == fs.Size() && digest(t, refFile, refSize) == digest(t, fs, fs.Size()) {
		t.Log("the object is byte for byte what ffmpeg -movflags +faststart -c copy writes")
	}
}

func index(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func head(s string) string {
	lines := strings.SplitN(s, "\n", 20)
	return strings.Join(lines[:min(len(lines), 19)], "\n")
}

// TestFaststartKept: files that are stored as they are.
func TestFaststartKept(t *testing.T) {
	plain := mediatest.Make(t, mediatest.Spec{Variant: mediatest.Plain, Length: 2 * time.Second, Size: "320x240"})
	already := filepath.Join(t.TempDir(), "faststart.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", plain, "-map", "0", "-c", "copy", "-movflags", "+faststart", already).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	notMP4 := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notMP4, []byte("not a movie at all, just some text"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path, why string }{
		{"killed", mediatest.Make(t, mediatest.Spec{Variant: mediatest.Killed, Length: 2 * time.Second, Size: "320x240"}), "no moov"},
		{"fragmented", mediatest.Make(t, mediatest.Spec{Variant: mediatest.Fragmented, Length: 2 * time.Second, Size: "320x240"}), "fragmented"},
		{"faststart", already, "already"},
		{"not mp4", notMP4, "not an MP4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, size := open(t, c.path)
			fs, err := mp4.NewFaststart(r, size)
			if !errors.Is(err, mp4.ErrNotRearranged) || !strings.Contains(err.Error(), c.why) {
				t.Fatalf("NewFaststart = %v, %v; want ErrNotRearranged saying %q", fs, err, c.why)
			}
		})
	}
}

// TestFaststartReadAt reads the object in odd pieces across segment
// boundaries and compares them with one whole read.
func TestFaststartReadAt(t *testing.T) {
	src, size := synth(t, 3, 1000)
	fs, err := mp4.NewFaststart(src, size)
	if err != nil {
		t.Fatal(err)
	}
	whole := make([]byte, fs.Size())
	if _, err := fs.ReadAt(whole, 0); err != nil {
		t.Fatal(err)
	}
	for _, step := range []int{1, 7, 100, 4096} {
		var got bytes.Buffer
		p := make([]byte, step)
		for off := int64(0); off < fs.Size(); {
			n, err := fs.ReadAt(p, off)
			got.Write(p[:n])
			off += int64(n)
			if err == io.EOF && off == fs.Size() {
				break
			}
			if err != nil {
				t.Fatalf("step %d at %d: %v", step, off, err)
			}
		}
		if !bytes.Equal(got.Bytes(), whole) {
			t.Errorf("reads of %d bytes differ from one whole read", step)
		}
	}
	if n, err := fs.ReadAt(make([]byte, 10), fs.Size()-4); n != 4 || err != io.EOF {
		t.Errorf("read past the end = %d, %v; want 4, EOF", n, err)
	}
}
