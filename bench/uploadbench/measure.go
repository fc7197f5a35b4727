package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Tools, as named in the report.
const (
	toolOurs = "finalize"
	toolBare = "bare manager.Uploader"
)

// sample is one measured run of one tool.
type sample struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	rssKiB int64         // peak resident set size
}

// targetResult holds every sample of both tools on one target.
type targetResult struct {
	target  string
	samples map[string][]sample // by tool
}

type bench struct {
	opts    options
	bins    binaries
	rec     recording
	timeBin string // GNU time, "" to use the rusage of the direct child
	stderr  io.Writer
}

// target runs both tools opts.runs times against t, alternating which goes
// first.
func (b *bench) target(ctx context.Context, t target) (targetResult, error) {
	res := targetResult{target: t.name, samples: map[string][]sample{}}
	tools := []string{toolOurs, toolBare}
	first := 0
	if b.opts.warmUp {
		// One unrecorded round, so that every measured run overwrites an
		// existing object (on MinIO the first write to a key is faster).
		first = -1
	}
	for i := first; i < b.opts.runs; i++ {
		order := tools
		if i%2 != 0 {
			order = []string{toolBare, toolOurs}
		}
		for _, tool := range order {
			// Flush what the previous run left dirty (MinIO's writes) so
			// that this run does not pay for it.
			syscall.Sync()
			time.Sleep(time.Second)
			var s sample
			var err error
			if tool == toolOurs {
				s, err = b.runOurs(ctx, t)
			} else {
				s, err = b.runBare(ctx, t)
			}
			if err != nil {
				return res, fmt.Errorf("%s, run %d, %s: %w", t.name, i+1, tool, err)
			}
			label := fmt.Sprintf("run %d/%d", i+1, b.opts.runs)
			if i < 0 {
				label = "warm-up"
			} else {
				res.samples[tool] = append(res.samples[tool], s)
			}
			fmt.Fprintf(b.stderr, "%-13s %-8s %-22s %6.2fs %7.1f MiB/s  cpu %6.2fs  rss %5.1f MiB\n",
				t.name, label, tool, s.wall.Seconds(), mibps(b.rec.size, s.wall), s.cpu.Seconds(), float64(s.rssKiB)/1024)
		}
	}
	return res, nil
}

// env returns the environment of a child: ours without any AWS_* or
// JIBRI_UPLOAD_* variable, plus the target's credentials and extra.
func env(t target, extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "JIBRI_UPLOAD_") {
			continue
		}
		out = append(out, kv)
	}
	out = append(out,
		"AWS_ACCESS_KEY_ID="+t.accessKey,
		"AWS_SECRET_ACCESS_KEY="+t.secretKey,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	)
	return append(out, extra...)
}

// runOurs runs finalize exactly as Jibri would: argv [finalize, dir].
func (b *bench) runOurs(ctx context.Context, t target) (sample, error) {
	// --keep leaves a done state and a journal that would make the next run
	// a no-op.
	// The journal would make it reuse the object instead of uploading it.
	for _, name := range []string{".finalize-state.json", ".finalize-journal.json"} {
		if err := os.Remove(filepath.Join(b.rec.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return sample{}, fmt.Errorf("cannot reset state: %w", err)
		}
	}
	extra := []string{
		"JIBRI_UPLOAD_BUCKET=" + t.bucket,
		"JIBRI_UPLOAD_ENDPOINT=" + t.endpoint,
		"JIBRI_UPLOAD_PATH_STYLE=true",
		"JIBRI_UPLOAD_PART_SIZE=" + strconv.FormatInt(b.opts.partMiB, 10),
		"JIBRI_UPLOAD_CONCURRENCY=" + strconv.Itoa(b.opts.concurrency),
		"JIBRI_UPLOAD_SSE=" + t.sse,
		"JIBRI_UPLOAD_KEEP=true",
		"JIBRI_UPLOAD_METRICS_FILE=none",
		"JIBRI_UPLOAD_LOG_FORMAT=json",
	}
	if t.caFile != "" {
		extra = append(extra, "JIBRI_UPLOAD_CA_BUNDLE="+t.caFile)
	}
	s, out, err := b.measure(ctx, "finalize", []string{b.rec.dir}, env(t, extra...))
	if err != nil {
		return s, fmt.Errorf("%w\n%s", err, out)
	}
	if !strings.Contains(out, "finalized "+b.rec.dir) {
		return s, fmt.Errorf("finalize did not report the upload:\n%s", out)
	}
	return s, nil
}

// runBare uploads the same file with bareupload, then checks its size.
func (b *bench) runBare(ctx context.Context, t target) (sample, error) {
	key := "bench/bare/" + b.rec.session + "/" + b.rec.name
	args := []string{
		"-endpoint", t.endpoint, "-bucket", t.bucket, "-key", key, "-file", b.rec.media,
		"-part-size", strconv.FormatInt(b.opts.partMiB, 10), "-concurrency", strconv.Itoa(b.opts.concurrency),
		"-sse", t.sse,
	}
	if t.caFile != "" {
		args = append(args, "-ca-bundle", t.caFile)
	}
	s, out, err := b.measure(ctx, "bareupload", args, env(t))
	if err != nil {
		return s, fmt.Errorf("%w\n%s", err, out)
	}
	head, err := t.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(key)})
	if err != nil {
		return s, fmt.Errorf("cannot check the bare upload: %w", err)
	}
	if got := aws.ToInt64(head.ContentLength); got != b.rec.size {
		return s, fmt.Errorf("bare upload stored %d bytes, want %d", got, b.rec.size)
	}
	return s, nil
}

// measure runs the tool name (a binary in b.bins.dir) with args and env,
// and returns its wall time, CPU time and peak RSS, and its combined output.
//
// On Linux a child's ru_maxrss is never lower than the peak RSS of the
// process that spawned it: Go spawns with vfork semantics and the kernel
// folds the address space left at exec into the child's record
// (golang/go#32054). This process holds the null endpoint and more, so
// with GNU time available the tool is started by it (a small C program
// that forks a copy of itself) and the peak is read from its %M instead.
func (b *bench) measure(ctx context.Context, name string, args, env []string) (sample, string, error) {
	var cmd *exec.Cmd
	var rssFile string
	if b.timeBin != "" {
		rssFile = filepath.Join(b.bins.dir, "rss-"+name)
		cmd = exec.CommandContext(ctx, b.timeBin, append([]string{"-f", "%M", "-o", rssFile, "--", name}, args...)...)
		env = withPath(env, b.bins.dir) // so that argv[0] is the bare name
	} else {
		cmd = exec.CommandContext(ctx, filepath.Join(b.bins.dir, name), args...)
		cmd.Args[0] = name
	}
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	s := sample{wall: time.Since(start)}
	if ps := cmd.ProcessState; ps != nil {
		s.cpu = ps.UserTime() + ps.SystemTime() // includes the waited-for tool under time
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			s.rssKiB = ru.Maxrss // KiB on Linux
		}
	}
	if err != nil {
		return s, out.String(), fmt.Errorf("%s failed: %w", name, err)
	}
	if rssFile != "" {
		data, rerr := os.ReadFile(rssFile)
		if rerr != nil {
			return s, out.String(), fmt.Errorf("cannot read the peak RSS: %w", rerr)
		}
		kib, perr := strconv.ParseInt(strings.TrimSpace(lastLine(string(data))), 10, 64)
		if perr != nil {
			return s, out.String(), fmt.Errorf("cannot parse the peak RSS %q: %w", data, perr)
		}
		s.rssKiB = kib
	}
	return s, out.String(), nil
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// withPath returns env with dir first in PATH.
func withPath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	path := dir
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = dir + string(os.PathListSeparator) + v
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+path)
}

// gnuTime returns the path of GNU time, or "" if there is none.
func gnuTime() string {
	p, err := exec.LookPath("time")
	if err != nil {
		p = "/usr/bin/time"
	}
	out, err := exec.Command(p, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "GNU") {
		return ""
	}
	return p
}

func mibps(size int64, d time.Duration) float64 {
	return float64(size) / (1 << 20) / max(d.Seconds(), 1e-9)
}
