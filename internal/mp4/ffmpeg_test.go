package mp4

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
)

// TestFFmpeg makes each variant with Jibri's ffmpeg parameters and checks
// Inspect against ffprobe on the same file. CI sets JIBRI_S3_REQUIRE_FFMPEG=1.
func TestFFmpeg(t *testing.T) {
	ffmpeg := mediatest.Require(t)
	ffprobe := filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
	if _, err := exec.LookPath(ffprobe); err != nil {
		t.Fatalf("ffprobe next to %s: %v", ffmpeg, err)
	}
	cases := []struct {
		spec       mediatest.Spec
		playable   bool
		fragmented bool
	}{
		{spec: mediatest.Spec{Variant: mediatest.Plain, Length: 2 * time.Second}, playable: true},
		{spec: mediatest.Spec{Variant: mediatest.Killed, Length: time.Second}},
		{spec: mediatest.Spec{Variant: mediatest.Fragmented, Length: 2 * time.Second}, playable: true, fragmented: true},
		// Keyframes every second, killed after three: whole fragments play.
		{spec: mediatest.Spec{Variant: mediatest.KilledFragmented, Length: 3 * time.Second, GOP: 30}, playable: true, fragmented: true},
	}
	for _, c := range cases {
		t.Run(c.spec.Variant.String(), func(t *testing.T) {
			path := mediatest.Make(t, c.spec)
			info := inspectFile(t, path)
			out, failure := runProbe(t, ffprobe, path)
			compareProbe(t, info, out, failure)
			if info.Playable != c.playable || info.Fragmented != c.fragmented {
				t.Errorf("playable %v fragmented %v, want %v %v (reason %q)", info.Playable, info.Fragmented, c.playable, c.fragmented, info.Reason)
			}
			if c.spec.Variant == mediatest.Killed && !strings.Contains(failure, "moov atom not found") {
				t.Errorf("ffprobe on the killed file: %q, want moov atom not found", failure)
			}
			for _, tr := range info.Tracks {
				switch tr.Handler {
				case "vide":
					if tr.CodecString[:4] != "avc1" || tr.Width != 1280 || tr.Height != 720 || tr.Level != 31 {
						t.Errorf("video track %+v, want avc1 1280x720 level 3.1", tr)
					}
				case "soun":
					if tr.CodecString != "mp4a.40.2" || tr.SampleRate != 44100 {
						t.Errorf("audio track %+v, want AAC-LC at 44.1 kHz", tr)
					}
				}
			}
			t.Logf("%s: %d top-level boxes, %d fragments, duration %v, playable %v %s %v",
				c.spec.Variant, len(info.Boxes), info.Fragments, info.Duration, info.Playable, info.Reason, info.Notes)
		})
	}
}
