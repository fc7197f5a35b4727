package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// rssBudgetMiB is the peak RSS finalize should stay under.
const rssBudgetMiB = 64

// header describes the benchmark setup for the report.
type header struct {
	sizeMiB     int64
	partMiB     int64
	concurrency int
	runs        int
	goVersion   string
	cpus        int
	when        time.Time
	exactRSS    bool // peak RSS measured through GNU time
}

// stats summarizes one tool's samples on one target.
type stats struct {
	wall, cpu   time.Duration // medians
	mibps       float64       // median throughput
	perRun      []float64     // throughput of each run, in run order
	rssMedian   float64       // MiB
	rssMax      float64       // MiB
	cpuPerGiB   float64       // median CPU seconds per GiB
	sampleCount int
}

func summarize(samples []sample, size int64) stats {
	var st stats
	if len(samples) == 0 {
		return st
	}
	var walls, cpus, thr, rss []float64
	for _, s := range samples {
		walls = append(walls, s.wall.Seconds())
		cpus = append(cpus, s.cpu.Seconds())
		t := mibps(size, s.wall)
		thr = append(thr, t)
		st.perRun = append(st.perRun, t)
		rss = append(rss, float64(s.rssKiB)/1024)
	}
	st.wall = time.Duration(median(walls) * float64(time.Second))
	st.cpu = time.Duration(median(cpus) * float64(time.Second))
	st.mibps = median(thr)
	st.rssMedian = median(rss)
	st.rssMax = slices.Max(rss)
	st.cpuPerGiB = st.cpu.Seconds() / (float64(size) / (1 << 30))
	st.sampleCount = len(samples)
	return st
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// markdown renders the report.
func markdown(h header, results []targetResult) string {
	var b strings.Builder
	size := h.sizeMiB << 20
	fmt.Fprintf(&b, "## Upload benchmark: finalize vs bare manager.Uploader\n\n")
	fmt.Fprintf(&b, "%d MiB file, part size %d MiB, concurrency %d, %d runs per tool and target (order alternating, after an unrecorded warm-up round), medians shown; %s, %d CPUs, %s.\n",
		h.sizeMiB, h.partMiB, h.concurrency, h.runs, h.goVersion, h.cpus, h.when.Format("2006-01-02 15:04 MST"))
	var notes []string
	for _, r := range results {
		if strings.HasPrefix(r.target, "null") {
			notes = append(notes, "the null endpoint runs inside the benchmark process and discards the bytes")
		} else {
			notes = append(notes, "MinIO writes to local disk, with SSE-S3 for both tools")
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, "%s%s.\n", strings.ToUpper(notes[0][:1]), strings.Join(notes, "; ")[1:])
	}
	if h.exactRSS {
		fmt.Fprintf(&b, "Peak RSS is GNU time's %%M for the tool alone.\n\n")
	} else {
		fmt.Fprintf(&b, "Peak RSS is the child's ru_maxrss, which Linux floors at the benchmark process's own peak (no GNU time found).\n\n")
	}
	fmt.Fprintf(&b, "| target | tool | wall s | MiB/s | MiB/s per run | CPU s (user+sys) | CPU s/GiB | peak RSS MiB (median / max) |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---|---:|---:|---:|\n")
	for _, r := range results {
		for _, tool := range []string{toolOurs, toolBare} {
			st := summarize(r.samples[tool], size)
			fmt.Fprintf(&b, "| %s | %s | %.2f | %.1f | %s | %.2f | %.2f | %.1f / %.1f |\n",
				r.target, tool, st.wall.Seconds(), st.mibps, joinFloats(st.perRun), st.cpu.Seconds(), st.cpuPerGiB, st.rssMedian, st.rssMax)
		}
	}
	fmt.Fprintf(&b, "\n| target | throughput ours/bare | CPU ours/bare | our peak RSS (max) | under %d MiB |\n", rssBudgetMiB)
	fmt.Fprintf(&b, "|---|---:|---:|---:|---|\n")
	for _, r := range results {
		ours, bare := summarize(r.samples[toolOurs], size), summarize(r.samples[toolBare], size)
		ok := "yes"
		if ours.rssMax >= rssBudgetMiB {
			ok = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.1f MiB | %s |\n",
			r.target, ratio(ours.mibps, bare.mibps), ratio(ours.cpu.Seconds(), bare.cpu.Seconds()), ours.rssMax, ok)
	}
	return b.String()
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func joinFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = fmt.Sprintf("%.0f", f)
	}
	return strings.Join(parts, ", ")
}
