package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sample is one measured run of one tool: every process of the run.
type sample struct {
	wall   time.Duration // first start to last exit
	cpu    time.Duration // user + system, summed over the processes
	rssKiB int64         // sum of the processes' peak RSS
	rssMax int64         // largest single peak RSS
}

// runner starts processes under GNU time.
type runner struct {
	timeBin string
	tmp     string // for GNU time's output files
	home    string
}

// run starts every spec at once and waits for all of them.
func (r runner) run(ctx context.Context, specs []spec) (sample, error) {
	type result struct {
		cpu    time.Duration
		rssKiB int64
		err    error
	}
	done := make(chan result, len(specs))
	start := time.Now()
	for i, s := range specs {
		rssFile := filepath.Join(r.tmp, fmt.Sprintf("rss-%d", i))
		cmd := exec.CommandContext(ctx, r.timeBin, append([]string{"-f", "%M", "-o", rssFile, "--", s.path}, s.args...)...)
		cmd.Env = append(cleanEnv(r.home), s.env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return sample{}, fmt.Errorf("cannot start %s: %w", s.name, err)
		}
		go func() {
			err := cmd.Wait()
			var res result
			if ps := cmd.ProcessState; ps != nil {
				res.cpu = ps.UserTime() + ps.SystemTime() // includes the tool waited for by time
			}
			if err != nil {
				res.err = fmt.Errorf("%s failed: %w\n%s", s.name, err, tail(out.String()))
			} else if data, rerr := os.ReadFile(rssFile); rerr != nil {
				res.err = fmt.Errorf("cannot read the peak RSS: %w", rerr)
			} else if res.rssKiB, rerr = strconv.ParseInt(lastLine(string(data)), 10, 64); rerr != nil {
				res.err = fmt.Errorf("cannot parse the peak RSS %q: %w", data, rerr)
			}
			done <- res
		}()
	}
	var s sample
	var firstErr error
	for range specs {
		res := <-done
		if res.err != nil && firstErr == nil {
			firstErr = res.err
		}
		s.cpu += res.cpu
		s.rssKiB += res.rssKiB
		s.rssMax = max(s.rssMax, res.rssKiB)
	}
	s.wall = time.Since(start)
	return s, firstErr
}

// tail returns the end of a tool's output for an error message.
func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// gnuTime returns the path of GNU time, or "" if there is none.
func gnuTime() string {
	for _, p := range []string{"/usr/bin/time", "time"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		out, _ := exec.Command(path, "--version").CombinedOutput()
		if strings.Contains(string(out), "GNU") {
			return path
		}
	}
	return ""
}

// loadAvg returns the 1-minute load average.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// flush writes back dirty pages (MinIO's) so the next run does not pay
// for the previous one.
func flush() {
	syscall.Sync()
	time.Sleep(500 * time.Millisecond)
}
