package mp4

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
)

// profilePath is docker/jibri's crash-resilient Jibri configuration.
var profilePath = filepath.Join("..", "..", "docker", "jibri", "profiles", "crash-resilient", "custom-jibri.conf")

// referenceFFmpeg are the jibri.ffmpeg values of Jibri's reference.conf
// (and docker-jitsi-meet's defaults) the profile refers to.
var referenceFFmpeg = map[string][]string{
	"video-params":                  {"-c:v", "libx264", "-pix_fmt", "yuv420p", "-r", "30", "-crf", "25"},
	"video-encode-preset-recording": {"ultrafast"},
	"gop-size":                      {"60"},
	"recording-format":              {"mp4"},
}

// profileVideoParams reads the video-params-recording list of the profile
// and resolves its ${jibri.ffmpeg.*} references: the ffmpeg arguments Jibri
// runs with the profile on.
func profileVideoParams(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(profilePath)
	if err != nil {
		t.Fatal(err)
	}
	var body []string
	for _, line := range strings.Split(string(b), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "//") {
			body = append(body, l)
		}
	}
	m := regexp.MustCompile(`(?s)^jibri\.ffmpeg\.video-params-recording = (.*)$`).FindStringSubmatch(strings.Join(body, "\n"))
	if m == nil {
		t.Fatalf("%s does not set jibri.ffmpeg.video-params-recording", profilePath)
	}
	var args []string
	for _, tok := range regexp.MustCompile(`"[^"]*"|\$\{[a-z0-9.-]+\}|[\[\]]`).FindAllString(m[1], -1) {
		switch {
		case tok == "[" || tok == "]":
		case strings.HasPrefix(tok, `"`):
			args = append(args, strings.Trim(tok, `"`))
		default:
			name := strings.TrimSuffix(strings.TrimPrefix(tok, "${jibri.ffmpeg."), "}")
			v, ok := referenceFFmpeg[name]
			if !ok {
				t.Fatalf("the profile refers to %s, which this test does not know", tok)
			}
			args = append(args, v...)
		}
	}
	return args
}

// TestCrashResilientProfile runs ffmpeg with the profile's arguments, to
// the end and SIGKILLed: both files must be fragmented, faststart and
// playable (as ffprobe agrees), the killed one losing at most its last
// fragment.
func TestCrashResilientProfile(t *testing.T) {
	params := profileVideoParams(t)
	joined := strings.Join(params, " ")
	for _, want := range []string{"-movflags " + mediatest.FragmentFlags, "-g 60", "-profile:v main -level 3.1", "-f mp4"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("profile arguments %q lack %q", joined, want)
		}
	}
	if !strings.HasSuffix(joined, "-f mp4") {
		t.Fatalf("profile arguments %q must end with -f mp4 (Jibri appends the file name)", joined)
	}
	ffmpeg := mediatest.Require(t)
	ffprobe := filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
	for _, v := range []mediatest.Variant{mediatest.Plain, mediatest.Killed} {
		t.Run(v.String(), func(t *testing.T) {
			path := mediatest.Make(t, mediatest.Spec{Variant: v, Length: 5 * time.Second, VideoParams: params})
			info := inspectFile(t, path)
			out, failure := runProbe(t, ffprobe, path)
			compareProbe(t, info, out, failure)
			if !info.Playable || !info.Fragmented || !info.Faststart || info.Fragments < 2 {
				t.Fatalf("playable %v (%s) fragmented %v faststart %v with %d fragments", info.Playable, info.Reason, info.Fragmented, info.Faststart, info.Fragments)
			}
			t.Logf("%s: %d fragments, %v, notes %q", v, info.Fragments, info.Duration, info.Notes)
		})
	}
}
