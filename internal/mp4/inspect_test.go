package mp4

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSamples checks the committed recordings (made by internal/mediatest
// the way Jibri's ffmpeg makes them) against their committed ffprobe
// output: testdata/samples/<case>/{recording.mp4,ffprobe.json|ffprobe.err}.
func TestSamples(t *testing.T) {
	cases := []struct {
		name                        string
		moov, fragmented, faststart bool
		reason                      string // substring when unplayable
		topLevel                    string
	}{
		{name: "plain", moov: true, topLevel: "ftyp free mdat moov"},
		{name: "killed", reason: "no moov box", topLevel: "ftyp free mdat"},
		{name: "fragmented", moov: true, fragmented: true, faststart: true, topLevel: "ftyp moov moof mdat mfra"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "samples", c.name)
			info := inspectFile(t, filepath.Join(dir, "recording.mp4"))
			var failure string
			if b, err := os.ReadFile(filepath.Join(dir, "ffprobe.err")); err == nil {
				failure = string(b)
			}
			var probeJSON []byte
			if failure == "" {
				var err error
				if probeJSON, err = os.ReadFile(filepath.Join(dir, "ffprobe.json")); err != nil {
					t.Fatal(err)
				}
			}
			compareProbe(t, info, probeJSON, failure)
			if info.HasMoov != c.moov || info.Fragmented != c.fragmented || info.Faststart != c.faststart {
				t.Errorf("moov %v fragmented %v faststart %v, want %v %v %v", info.HasMoov, info.Fragmented, info.Faststart, c.moov, c.fragmented, c.faststart)
			}
			if c.reason != "" && !strings.Contains(info.Reason, c.reason) {
				t.Errorf("reason %q, want it to say %q", info.Reason, c.reason)
			}
			var types []string
			for _, b := range info.Boxes {
				types = append(types, b.Type)
			}
			if got := strings.Join(types, " "); got != c.topLevel {
				t.Errorf("top level %q, want %q", got, c.topLevel)
			}
			if info.Container != "mp4" {
				t.Errorf("container %q", info.Container)
			}
		})
	}
}

// TestKilledMdatToEnd: ffmpeg writes the mdat header with size 0 until it
// knows the size, so a killed file's mdat runs to the end of the file.
func TestKilledMdatToEnd(t *testing.T) {
	info := inspectFile(t, filepath.Join("testdata", "samples", "killed", "recording.mp4"))
	last := info.Boxes[len(info.Boxes)-1]
	if last.Type != "mdat" || !last.ToEnd {
		t.Fatalf("last box %v (to end %v), want an mdat stored with size 0", last, last.ToEnd)
	}
}

// TestTruncations cuts the plain and fragmented samples at many points:
// Inspect must never panic nor error (the reader does not fail), and a cut
// plain file must never be called playable.
func TestTruncations(t *testing.T) {
	for _, name := range []string{"plain", "fragmented"} {
		b, err := os.ReadFile(filepath.Join("testdata", "samples", name, "recording.mp4"))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(b); n += 1 + n/50 {
			info, err := Inspect(bytesReaderAt(b[:n]), int64(n))
			if err != nil {
				t.Fatalf("%s cut at %d: %v", name, n, err)
			}
			if name == "plain" && info.Playable {
				t.Fatalf("%s cut at %d of %d: playable", name, n, len(b))
			}
			if info.Playable == (info.Reason != "") {
				t.Fatalf("%s cut at %d: playable %v with reason %q", name, n, info.Playable, info.Reason)
			}
		}
	}
}

func TestDuration(t *testing.T) {
	cases := []struct {
		units uint64
		ts    uint32
		want  time.Duration
	}{
		{0, 1000, 0},
		{1500, 1000, 1500 * time.Millisecond},
		{44100 * 3600, 44100, time.Hour},
		{1, 3, 333333333},
		{5, 0, 0},
		{1<<64 - 1, 1, time.Duration(1<<63 - 1)},
	}
	for _, c := range cases {
		if got := duration(c.units, c.ts); got != c.want {
			t.Errorf("duration(%d, %d) = %v, want %v", c.units, c.ts, got, c.want)
		}
	}
}
