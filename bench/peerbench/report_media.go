package main

import (
	"fmt"
	"strings"
)

// pairedRatioOf is the median over runs of f(a)/f(b) in the same run.
func pairedRatioOf(a, b []sampleJSON, f func(sampleJSON) float64) float64 {
	var r []float64
	for i := range min(len(a), len(b)) {
		r = append(r, f(a[i])/max(f(b[i]), 1e-9))
	}
	return median(r)
}

// pairedDiff is the median over runs of f(a)-f(b) in the same run.
func pairedDiff(a, b []sampleJSON, f func(sampleJSON) float64) float64 {
	var d []float64
	for i := range min(len(a), len(b)) {
		d = append(d, f(a[i])-f(b[i]))
	}
	return median(d)
}

// faststartMarkdown compares finalize with and without --faststart on the
// workloads that ran both, and shows what the null endpoint received.
func faststartMarkdown(r results) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	var rows []string
	for _, wl := range r.Workloads {
		for _, tr := range wl.Targets {
			fs, nf := tr.Samples[toolOurs], tr.Samples[toolOursNF]
			if len(fs) == 0 || len(nf) == 0 {
				continue
			}
			a, c := summarize(fs, wl.Bytes), summarize(nf, wl.Bytes)
			media, perMoov := "random bytes (not an MP4 faststart moves)", ""
			rssDiff := pairedDiff(fs, nf, func(s sampleJSON) float64 { return s.RSSMiB })
			if m := wl.Media; m != nil {
				media = fmt.Sprintf("%s, %.0f kbit/s, moov %s", lengthName(secondsDuration(m.Duration)), m.BitrateKbps, kiB(m.MoovBytes))
				perMoov = fmt.Sprintf(" (%.1f × moov)", rssDiff/(float64(m.MoovBytes)/(1<<20)))
			}
			thr := pairedRatio(fs, nf, wl.Bytes)
			cpu := pairedRatioOf(fs, nf, func(s sampleJSON) float64 { return s.CPU })
			rss := pairedRatioOf(fs, nf, func(s sampleJSON) float64 { return s.RSSMiB })
			rows = append(rows, fmt.Sprintf("| %s | %s | %s | %.0f (%s) | %.0f (%s) | %.3f | %.2f | %.2f | %.3f | %.1f | %.1f | %.3f | %+.1f%s | %s→%s |",
				wl.Name, short(tr.Target), media, a.mbps, joinFloats(a.perRun), c.mbps, joinFloats(c.perRun), thr,
				a.cpu, c.cpu, cpu, a.rss, c.rss, rss, rssDiff, perMoov, tr.LoadStart, tr.LoadEnd))
		}
	}
	if len(rows) == 0 {
		return ""
	}
	w("## Faststart: finalize with and without --faststart\n\n")
	w("The same binary, JIBRI_UPLOAD_FASTSTART=true and =false, in the same runs (the order rotating). Medians of the runs; a ratio is the median of the per-run ratios faststart/no-faststart. ")
	w("The machine is shared: compare the ratios, not the absolute numbers across runs.\n\n")
	w("| workload | target | media | MB/s faststart (per run) | MB/s no-faststart (per run) | throughput ratio | CPU s faststart | CPU s no-faststart | CPU ratio | peak RSS MiB faststart | peak RSS MiB no-faststart | RSS ratio | RSS faststart − no-faststart MiB | load avg start→end |\n")
	w("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, row := range rows {
		w("%s\n", row)
	}
	w("\n")
	var stored []string
	for _, wl := range r.Workloads {
		for _, tool := range allTools {
			for _, s := range wl.Stored[tool] {
				stored = append(stored, fmt.Sprintf("| %s | %s | %d | %d | %s |", wl.Name, tool, s.Bytes, s.WantBytes, strings.Join(s.Boxes, " ")))
			}
		}
	}
	if len(stored) > 0 {
		w("What the null endpoint received in the first run (the object's size from HeadObject, its first box headers from the first part's payload); peerbench stops when either differs from the expected one:\n\n")
		w("| workload | tool | stored bytes | expected bytes | first boxes |\n|---|---|---:|---:|---|\n")
		for _, s := range stored {
			w("%s\n", s)
		}
		w("\n")
	}
	for _, wl := range r.Workloads {
		if m := wl.Media; m != nil {
			w("%s: %d bytes, %.0f s, moov %d bytes, boxes %s; %d copies of `ffmpeg %s` (stream copy).\n\n",
				wl.Name, m.FileBytes, m.Duration, m.MoovBytes, strings.Join(m.Boxes, " "), m.Loops, strings.Join(m.Source, " "))
		}
	}
	return b.String()
}

func kiB(n int64) string {
	if n >= 10<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
}
