package mediatest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Variant is how the recording ends.
type Variant int

const (
	// Plain is what Jibri leaves after a normal stop: moov after mdat.
	Plain Variant = iota
	// Killed is ffmpeg SIGKILLed while recording: no moov.
	Killed
	// Fragmented is the crash-resilient profile: moov first, then moof+mdat.
	Fragmented
	// KilledFragmented is the crash-resilient profile SIGKILLed while
	// recording: every fragment written before the kill still plays.
	KilledFragmented
)

// killed says whether ffmpeg is SIGKILLed instead of finishing.
func (v Variant) killed() bool { return v == Killed || v == KilledFragmented }

// fragmented says whether ffmpeg writes movie fragments.
func (v Variant) fragmented() bool { return v == Fragmented || v == KilledFragmented }

func (v Variant) String() string {
	switch v {
	case Plain:
		return "plain"
	case Killed:
		return "killed"
	case Fragmented:
		return "fragmented"
	case KilledFragmented:
		return "killed-fragmented"
	}
	return "variant(" + strconv.Itoa(int(v)) + ")"
}

// FragmentFlags are the -movflags of the crash-resilient profile.
const FragmentFlags = "+frag_keyframe+empty_moov+default_base_moof"

// Spec describes one recording.
type Spec struct {
	Variant Variant
	// Length is the recording's length (-t) for Plain and Fragmented, and
	// how long ffmpeg records in real time (-re) before the kill for Killed.
	Length time.Duration
	// Size is the frame size; Jibri's default is 1920x1080, the default
	// here 1280x720. Long files in tests use a small size to save CPU.
	Size string
	// GOP is the keyframe interval in frames (-g); 0 keeps x264's default
	// (250), as Jibri's recording command does. A fragmented file starts a
	// fragment at each keyframe, so this bounds what a crash loses.
	GOP int
	// VideoParams, when set, replace Jibri's recording video parameters
	// (jibri.ffmpeg.video-params and video-params-recording, up to and
	// including "-f mp4"), as a Jibri configuration profile gives them; GOP
	// and the fragmenting flags of the variant are then not added.
	VideoParams []string
}

// Args is the ffmpeg command line (without the binary) that writes spec to
// out: Jibri's audio and video parameters with lavfi inputs.
func Args(spec Spec, out string) []string {
	size := spec.Size
	if size == "" {
		size = "1280x720"
	}
	length := strconv.FormatFloat(spec.Length.Seconds(), 'f', 3, 64)
	var args []string
	args = append(args, "-y", "-v", "error", "-nostdin")
	if spec.Variant.killed() {
		// Real time and a length it never reaches: killed mid-recording.
		args = append(args, "-re")
		length = "36000"
	}
	args = append(args,
		"-f", "lavfi", "-i", "testsrc=size="+size+":rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", length,
		// jibri.ffmpeg.audio-params
		"-acodec", "aac", "-strict", "-2", "-ar", "44100", "-b:a", "128k", "-af", "aresample=async=1",
	)
	if len(spec.VideoParams) > 0 {
		args = append(args, spec.VideoParams...)
		return append(args, out)
	}
	args = append(args,
		// jibri.ffmpeg.video-params and video-params-recording
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-r", "30", "-crf", "25",
		"-preset", "ultrafast", "-profile:v", "main", "-level", "3.1",
	)
	if spec.GOP > 0 {
		args = append(args, "-g", strconv.Itoa(spec.GOP))
	}
	if spec.Variant.fragmented() {
		args = append(args, "-movflags", FragmentFlags)
	}
	return append(args, "-f", "mp4", out)
}

// Binary locates ffmpeg or returns "".
func Binary() string {
	if p := os.Getenv("FFMPEG_BIN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("ffmpeg"); err == nil {
		return p
	}
	return ""
}

// Require returns the ffmpeg binary or ends the test: a failure when
// JIBRI_S3_REQUIRE_FFMPEG=1, a skip otherwise.
func Require(t testing.TB) string {
	t.Helper()
	p := Binary()
	if p != "" {
		return p
	}
	if os.Getenv("JIBRI_S3_REQUIRE_FFMPEG") == "1" {
		t.Fatal("ffmpeg not found ($FFMPEG_BIN or $PATH) and JIBRI_S3_REQUIRE_FFMPEG=1: apt-get install ffmpeg")
	}
	t.Skip("ffmpeg not found: apt-get install ffmpeg (set JIBRI_S3_REQUIRE_FFMPEG=1 to make this a failure)")
	return ""
}

// Make writes the recording into the test's temporary directory (or, when
// $JIBRI_S3_MEDIA_CACHE is set, reuses or fills that cache; Killed files
// are never cached, each kill lands elsewhere) and returns its path.
func Make(t testing.TB, spec Spec) string {
	t.Helper()
	bin := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dir := t.TempDir()
	if c := os.Getenv("JIBRI_S3_MEDIA_CACHE"); c != "" && !spec.Variant.killed() {
		dir = c
	}
	p, err := Generate(ctx, bin, dir, spec)
	if err != nil {
		t.Fatalf("mediatest: %v", err)
	}
	return p
}

// Name is the file name of spec in a directory: Jibri's extension and a
// hash of the command line, so a cached file is one made the same way.
func Name(spec Spec) string {
	sum := sha256.Sum256([]byte(strings.Join(Args(spec, ""), "\x00")))
	return fmt.Sprintf("%s-%s-%s.mp4", spec.Variant, spec.Length, hex.EncodeToString(sum[:6]))
}

// Generate runs ffmpeg (bin) to write spec into dir and returns the path.
// A Plain or Fragmented file already there is reused; files appear only
// complete (written to a temporary name, then renamed).
func Generate(ctx context.Context, bin, dir string, spec Spec) (string, error) {
	if spec.Length <= 0 {
		return "", errors.New("mediatest: a recording needs a positive length")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("mediatest: %w", err)
	}
	final := filepath.Join(dir, Name(spec))
	if !spec.Variant.killed() {
		if _, err := os.Stat(final); err == nil {
			return final, nil
		}
	}
	tmp, err := os.CreateTemp(dir, ".partial-*.mp4")
	if err != nil {
		return "", fmt.Errorf("mediatest: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	var out strings.Builder
	cmd := exec.CommandContext(ctx, bin, Args(spec, tmp.Name())...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if spec.Variant.killed() {
		if err := kill(ctx, cmd, tmp.Name(), spec.Length); err != nil {
			return "", fmt.Errorf("mediatest: %s: %w: %s", spec.Variant, err, out.String())
		}
	} else if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("mediatest: ffmpeg %s: %w: %s", spec.Variant, err, out.String())
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", fmt.Errorf("mediatest: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("mediatest: %w", err)
	}
	return final, nil
}

// kill starts cmd, lets it record for length, waits until the file holds
// media beyond its first headers, and SIGKILLs it, as the kernel's OOM
// killer or Jibri's SIGKILL after its grace period would.
func kill(ctx context.Context, cmd *exec.Cmd, path string, length time.Duration) error {
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start ffmpeg: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(length)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	due := false
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("ffmpeg exited before it was killed: %v", err)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			return ctx.Err()
		case <-deadline.C:
			due = true
		case <-tick.C:
		}
		if !due {
			continue
		}
		// ffmpeg buffers; kill once some media reached the file.
		if fi, err := os.Stat(path); err == nil && fi.Size() >= 32<<10 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				return fmt.Errorf("cannot kill ffmpeg: %w", err)
			}
			<-exited
			return nil
		}
	}
}
