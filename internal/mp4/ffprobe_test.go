package mp4

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// probe is the part of `ffprobe -of json` output the tests compare.
type probe struct {
	Streams []struct {
		Profile    string `json:"profile"`
		CodecTag   string `json:"codec_tag_string"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		Level      int    `json:"level"`
		SampleRate string `json:"sample_rate"`
		Channels   int    `json:"channels"`
		Duration   string `json:"duration"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

var probeArgs = []string{"-v", "error", "-show_entries",
	"format=duration:stream=codec_tag_string,profile,level,width,height,sample_rate,channels,duration", "-of", "json"}

// runProbe runs ffprobe on path: its JSON, or its error output when it
// cannot open the file.
func runProbe(t *testing.T, ffprobe, path string) (out []byte, failure string) {
	t.Helper()
	cmd := exec.Command(ffprobe, append(probeArgs, path)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, stderr.String()
	}
	return out, ""
}

func seconds(t *testing.T, s string) time.Duration {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("ffprobe duration %q: %v", s, err)
	}
	return time.Duration(math.Round(f * float64(time.Second)))
}

// compareProbe checks Inspect's answer against ffprobe's: a file ffprobe
// cannot open must be unplayable; otherwise the durations (to ffprobe's
// microsecond), codecs, profiles, sizes and rates must match.
func compareProbe(t *testing.T, info *Info, probeJSON []byte, failure string) {
	t.Helper()
	if failure != "" {
		if info.Playable {
			t.Fatalf("ffprobe cannot open the file (%s) and Inspect says it plays: %+v", strings.TrimSpace(failure), info)
		}
		return
	}
	if !info.Playable {
		t.Fatalf("ffprobe opens the file and Inspect says it does not play: %s", info.Reason)
	}
	var p probe
	if err := json.Unmarshal(probeJSON, &p); err != nil {
		t.Fatal(err)
	}
	near := func(what string, got time.Duration, want string) {
		t.Helper()
		if d := got - seconds(t, want); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%s: Inspect %v, ffprobe %ss", what, got, want)
		}
	}
	near("duration", info.Duration, p.Format.Duration)
	if len(info.Tracks) != len(p.Streams) {
		t.Fatalf("tracks: Inspect %d, ffprobe %d", len(info.Tracks), len(p.Streams))
	}
	for i, s := range p.Streams {
		tr := info.Tracks[i]
		name := fmt.Sprintf("track %d (%s)", tr.ID, tr.Codec)
		near(name+" duration", tr.Duration, s.Duration)
		got := fmt.Sprintf("codec %s profile %s", tr.Codec, tr.Profile)
		want := fmt.Sprintf("codec %s profile %s", s.CodecTag, s.Profile)
		if tr.Handler == "vide" {
			got += fmt.Sprintf(" level %d %dx%d", tr.Level, tr.Width, tr.Height)
			want += fmt.Sprintf(" level %d %dx%d", s.Level, s.Width, s.Height)
		} else {
			got += fmt.Sprintf(" %d Hz %d ch", tr.SampleRate, tr.Channels)
			want += fmt.Sprintf(" %s Hz %d ch", s.SampleRate, s.Channels)
		}
		if got != want {
			t.Errorf("%s: Inspect %s, ffprobe %s", name, got, want)
		}
	}
}

func inspectFile(t *testing.T, path string) *Info {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(f, fi.Size())
	if err != nil {
		t.Fatalf("Inspect %s: %v", filepath.Base(path), err)
	}
	return info
}
