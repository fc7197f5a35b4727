package mediatest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FrameMD5 returns ffmpeg's framemd5 of every stream of the file: one MD5
// per decoded frame, so two files with equal answers decode to the same
// pictures and sound whatever their container layout.
func FrameMD5(t testing.TB, path string) string {
	t.Helper()
	bin := Require(t)
	out, err := exec.Command(bin, "-v", "error", "-nostdin", "-i", path, "-map", "0", "-f", "framemd5", "-").Output()
	if err != nil {
		t.Fatalf("mediatest: framemd5 of %s: %v", path, stderrOf(err))
	}
	return string(out)
}

// RootBoxes returns the top-level box types of the file in the order
// ffprobe's own MP4 demuxer meets them (-v trace): an independent reading
// of the layout, e.g. [ftyp moov free mdat] for a faststart file.
func RootBoxes(t testing.TB, path string) []string {
	t.Helper()
	out, err := exec.Command(probe(t), "-v", "trace", path).CombinedOutput()
	if err != nil {
		t.Fatalf("mediatest: ffprobe -v trace %s: %v: %s", path, err, tail(out))
	}
	var types []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, "parent:'root'") {
			continue
		}
		if i := strings.Index(line, "type:'"); i >= 0 && len(line) >= i+10 {
			types = append(types, line[i+6:i+10])
		}
	}
	return types
}

// MoovFirst reports whether boxes (RootBoxes) has a moov before any mdat.
func MoovFirst(boxes []string) bool {
	for _, b := range boxes {
		switch b {
		case "moov":
			return true
		case "mdat":
			return false
		}
	}
	return false
}

// Loop writes src played n times over into dir, by stream copy (no
// encoding, so it is fast): a larger file of the same kind, moov last.
func Loop(t testing.TB, src, dir string, n int) string {
	t.Helper()
	bin := Require(t)
	out := filepath.Join(dir, fmt.Sprintf("loop%d-%s", n, filepath.Base(src)))
	cmd := exec.Command(bin, "-y", "-v", "error", "-nostdin", "-stream_loop", strconv.Itoa(n-1), "-i", src, "-map", "0", "-c", "copy", "-f", "mp4", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mediatest: loop %s: %v: %s", src, err, tail(b))
	}
	return out
}

// probe returns ffprobe, next to ffmpeg.
func probe(t testing.TB) string {
	t.Helper()
	bin := Require(t)
	p := filepath.Join(filepath.Dir(bin), "ffprobe")
	if _, err := exec.LookPath(p); err == nil {
		return p
	}
	if p, err := exec.LookPath("ffprobe"); err == nil {
		return p
	}
	t.Fatal("mediatest: ffprobe not found next to ffmpeg or in $PATH")
	return ""
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return err.Error() + ": " + tail(ee.Stderr)
	}
	return err.Error()
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
