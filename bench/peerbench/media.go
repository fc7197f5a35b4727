package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
)

// Kinds of media file a recording holds (-media).
const (
	mediaRandom = "random" // an ftyp box, then random bytes
	mediaJibri  = "jibri"  // a real MP4 written by ffmpeg with Jibri's settings
)

// sourceLength is the length of the recording ffmpeg encodes; longer
// fixtures repeat it by stream copy, as a long recording repeats its
// sample pattern.
const sourceLength = time.Minute

// grain is the video filter in front of Jibri's encoder: temporal noise,
// stronger on luma, like a camera's sensor noise. Bare testsrc compresses
// to about 0.4 Mbit/s at 1280x720 with crf 25, far below a meeting
// recording; with this grain the file is about 2 Mbit/s (ffmpeg 5.1).
const grain = "noise=c0s=8:c0f=t:c1s=6:c1f=t:c2s=6:c2f=t"

// jibriVideoParams are Jibri's recording video parameters, from libx264 up
// to and including "-f mp4", as package mediatest gives them.
func jibriVideoParams() []string {
	a := mediatest.Args(mediatest.Spec{Length: time.Second}, "out.mp4")
	i := slices.Index(a, "-c:v")
	if i < 0 {
		return nil
	}
	return slices.Clone(a[i : len(a)-1])
}

// sourceSpec is the recording ffmpeg encodes: Jibri's audio and video
// parameters at 1280x720, behind the grain filter.
func sourceSpec() mediatest.Spec {
	return mediatest.Spec{
		Variant:     mediatest.Plain,
		Length:      sourceLength,
		Size:        "1280x720",
		VideoParams: append([]string{"-vf", grain}, jibriVideoParams()...),
	}
}

// mediaFile is a real MP4 fixture and what its structure says.
type mediaFile struct {
	path     string
	loops    int // copies of the source
	size     int64
	duration time.Duration
	moovSize int64
	boxes    []string // top-level box types in file order
}

// media makes real MP4 fixtures and keeps them in cache, named by how they
// were made, so that a later invocation reuses them.
type media struct {
	ffmpeg string
	cache  string
	logf   func(format string, args ...any)
}

// bySize returns the source repeated as often as brings it closest to
// bytes.
func (m media) bySize(ctx context.Context, bytes int64) (mediaFile, error) {
	src, err := m.source(ctx)
	if err != nil {
		return mediaFile{}, err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return mediaFile{}, fmt.Errorf("media: %w", err)
	}
	return m.looped(ctx, src, loopsFor(bytes, fi.Size()))
}

// byLength returns the source repeated to last d (a multiple of
// sourceLength).
func (m media) byLength(ctx context.Context, d time.Duration) (mediaFile, error) {
	src, err := m.source(ctx)
	if err != nil {
		return mediaFile{}, err
	}
	return m.looped(ctx, src, int(d/sourceLength))
}

// loopsFor is how many copies of a source of srcSize bytes come closest to
// bytes (at least one).
func loopsFor(bytes, srcSize int64) int {
	return max(1, int(math.Round(float64(bytes)/float64(max(srcSize, 1)))))
}

// source encodes (or finds in the cache) the one-minute recording.
func (m media) source(ctx context.Context) (string, error) {
	if m.ffmpeg == "" {
		return "", errors.New("media: ffmpeg not found (apt-get install ffmpeg, or -ffmpeg)")
	}
	spec := sourceSpec()
	if _, err := os.Stat(filepath.Join(m.cache, mediatest.Name(spec))); err != nil {
		m.logf("encoding the %s source recording with ffmpeg (Jibri's settings, %s grain)", sourceLength, grain)
	}
	p, err := mediatest.Generate(ctx, m.ffmpeg, m.cache, spec)
	if err != nil {
		return "", fmt.Errorf("media: %w", err)
	}
	return p, nil
}

// looped returns src repeated n times by stream copy, from the cache or
// written there (complete files only: a temporary name, then a rename).
func (m media) looped(ctx context.Context, src string, n int) (mediaFile, error) {
	if n < 1 {
		return mediaFile{}, fmt.Errorf("media: %d copies of the source", n)
	}
	path := src
	if n > 1 {
		path = filepath.Join(m.cache, loopName(filepath.Base(src), n))
		if _, err := os.Stat(path); err != nil {
			m.logf("writing %d copies of the source by stream copy into %s", n, path)
			if err := loop(ctx, m.ffmpeg, src, path, n); err != nil {
				return mediaFile{}, err
			}
		}
	}
	f, err := describe(path)
	if err != nil {
		return mediaFile{}, err
	}
	f.loops = n
	return f, nil
}

// loopName is the file name of n copies of the source named src.
func loopName(src string, n int) string {
	return strings.TrimSuffix(src, ".mp4") + "-x" + strconv.Itoa(n) + ".mp4"
}

// loop writes n copies of src into out, as mediatest.Loop does for tests.
func loop(ctx context.Context, ffmpeg, src, out string, n int) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".partial-*.mp4")
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, ffmpeg, "-y", "-v", "error", "-nostdin", "-stream_loop", strconv.Itoa(n-1),
		"-i", src, "-map", "0", "-c", "copy", "-f", "mp4", tmp.Name())
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("media: ffmpeg -stream_loop %d: %w: %s", n-1, err, tail(string(b)))
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	return nil
}

// describe reads the structure of a fixture and refuses one that is not
// what Jibri leaves: a playable MP4 whose moov follows its mdat.
func describe(path string) (mediaFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return mediaFile{}, fmt.Errorf("media: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return mediaFile{}, fmt.Errorf("media: %w", err)
	}
	info, err := mp4.Inspect(f, fi.Size())
	if err != nil {
		return mediaFile{}, fmt.Errorf("media: cannot inspect %s: %w", path, err)
	}
	if !info.Playable || info.Faststart || info.Fragmented {
		return mediaFile{}, fmt.Errorf("media: %s is not a recording as Jibri leaves it (playable %v, moov first %v, fragmented %v: %s)",
			path, info.Playable, info.Faststart, info.Fragmented, info.Reason)
	}
	out := mediaFile{path: path, size: fi.Size(), duration: info.Duration}
	for _, b := range info.Boxes {
		out.boxes = append(out.boxes, b.Type)
		if b.Type == "moov" {
			out.moovSize = b.Size
		}
	}
	return out, nil
}

// fastStartSize is the size of the object finalize stores for the file at
// path with --faststart.
func fastStartSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("media: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("media: %w", err)
	}
	fs, err := mp4.NewFaststart(f, fi.Size())
	if err != nil {
		return 0, fmt.Errorf("media: cannot plan the faststart layout of %s: %w", path, err)
	}
	return fs.Size(), nil
}

// mediaJSON is what results.json records about a real MP4 fixture.
type mediaJSON struct {
	Source      []string `json:"ffmpeg_source_args"` // the source's ffmpeg arguments (output omitted)
	Loops       int      `json:"loops"`
	Duration    float64  `json:"duration_s"`
	FileBytes   int64    `json:"file_bytes"`
	MoovBytes   int64    `json:"moov_bytes"`
	Boxes       []string `json:"boxes"`
	BitrateKbps float64  `json:"bitrate_kbps"`
}

func (f mediaFile) json() *mediaJSON {
	args := mediatest.Args(sourceSpec(), "")
	return &mediaJSON{
		Source: args[:len(args)-1], Loops: f.loops, Duration: f.duration.Seconds(), FileBytes: f.size,
		MoovBytes: f.moovSize, Boxes: f.boxes, BitrateKbps: float64(f.size) * 8 / 1000 / max(f.duration.Seconds(), 1e-9),
	}
}

// lengthName is a recording length for a workload name: "1h", "2h13m".
func lengthName(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
