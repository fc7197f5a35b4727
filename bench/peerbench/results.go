package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// results is everything measured; results.json holds it as is.
type results struct {
	Started          time.Time                `json:"started"`
	GoVersion        string                   `json:"go_version"`
	CPUs             int                      `json:"cpus"`
	CPUModel         string                   `json:"cpu_model"`
	PartMiB          int64                    `json:"part_mib"`
	Concurrency      int                      `json:"concurrency"`
	Runs             int                      `json:"runs"`
	Invocations      int                      `json:"invocations"` // peerbench runs that produced these results (-append)
	Versions         map[string]string        `json:"versions"`
	Integrity        map[string]string        `json:"integrity_observed"` // by tool, on the null endpoint
	Startup          map[string][]startupJSON `json:"startup"`
	StartupLoadStart string                   `json:"startup_load_start"`
	StartupLoadEnd   string                   `json:"startup_load_end"`
	Workloads        []workloadResult         `json:"workloads"`
}

type workloadResult struct {
	Name         string                  `json:"name"`
	Commit       string                  `json:"commit,omitempty"` // git describe of the tree finalize was built from
	Files        int                     `json:"files"`
	Bytes        int64                   `json:"bytes"`
	Targets      []targetRun             `json:"targets"`
	Refs         map[string][]sampleJSON `json:"references,omitempty"`
	RefLoadStart string                  `json:"references_load_start,omitempty"`
	RefLoadEnd   string                  `json:"references_load_end,omitempty"`
	Media        *mediaJSON              `json:"media,omitempty"`          // -media jibri: the fixture
	Stored       map[string][]storedJSON `json:"stored_objects,omitempty"` // -media jibri, by tool: what the null endpoint received in the first run
}

type targetRun struct {
	Target    string                  `json:"target"`
	LoadStart string                  `json:"load_start"`
	LoadEnd   string                  `json:"load_end"`
	Samples   map[string][]sampleJSON `json:"samples"` // by tool, in run order
}

type sampleJSON struct {
	Wall      float64 `json:"wall_s"`
	CPU       float64 `json:"cpu_s"`
	RSSMiB    float64 `json:"peak_rss_mib"`     // summed over the processes of a run
	RSSMaxMiB float64 `json:"max_proc_rss_mib"` // largest single process
	ServerCPU float64 `json:"server_cpu_s"`     // MinIO's CPU, or this process's for the null endpoint
}

type startupJSON struct {
	FirstConn float64 `json:"first_connection_ms"`
	Total     float64 `json:"total_ms"`
	OnCPU     float64 `json:"on_cpu_ms"`  // all threads, until the first connection
	Waiting   float64 `json:"waiting_ms"` // runnable, waiting for a CPU, until the first connection
}

func toJSON(s sample) sampleJSON {
	return sampleJSON{Wall: s.wall.Seconds(), CPU: s.cpu.Seconds(), RSSMiB: float64(s.rssKiB) / 1024, RSSMaxMiB: float64(s.rssMax) / 1024}
}

// mbps is the throughput in MB/s (10^6 bytes per second).
func (s sampleJSON) mbps(bytes int64) float64 { return float64(bytes) / 1e6 / max(s.Wall, 1e-9) }

// cell is the summary of one tool's runs.
type cell struct {
	mbps, cpu, cpuPerGiB, rss float64 // medians
	serverCPU                 float64 // median
	perRun                    []float64
	ok                        bool
}

func summarize(samples []sampleJSON, bytes int64) cell {
	if len(samples) == 0 {
		return cell{}
	}
	var thr, cpu, rss, server []float64
	for _, s := range samples {
		thr = append(thr, s.mbps(bytes))
		cpu = append(cpu, s.CPU)
		rss = append(rss, s.RSSMiB)
		server = append(server, s.ServerCPU)
	}
	c := cell{mbps: median(thr), cpu: median(cpu), rss: median(rss), perRun: thr, ok: true, serverCPU: median(server)}
	c.cpuPerGiB = c.cpu / (float64(bytes) / (1 << 30))
	return c
}

// pairedRatio is the median over runs of ours/peer throughput in the same
// run.
func pairedRatio(ours, peer []sampleJSON, bytes int64) float64 {
	var r []float64
	for i := range min(len(ours), len(peer)) {
		r = append(r, ours[i].mbps(bytes)/max(peer[i].mbps(bytes), 1e-9))
	}
	if len(r) == 0 {
		return 0
	}
	return median(r)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// save writes results.json, report.md and chart.json into the report
// directory (after every workload, so an interrupted run leaves a report).
func (b *bench) save() error {
	if err := os.MkdirAll(b.opts.out, 0o755); err != nil {
		return fmt.Errorf("cannot create the report directory: %w", err)
	}
	data, err := json.MarshalIndent(b.res, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"results.json": append(data, '\n'),
		"report.md":    []byte(markdown(b.res)),
	}
	chart, err := json.MarshalIndent(chartSpec(b.res), "", "  ")
	if err != nil {
		return err
	}
	files["chart.json"] = append(chart, '\n')
	for name, content := range files {
		tmp := filepath.Join(b.opts.out, "."+name+".tmp")
		if err := os.WriteFile(tmp, content, 0o644); err != nil {
			return fmt.Errorf("cannot write %s: %w", name, err)
		}
		if err := os.Rename(tmp, filepath.Join(b.opts.out, name)); err != nil {
			return fmt.Errorf("cannot write %s: %w", name, err)
		}
	}
	b.logf("report written to %s", b.opts.out)
	return nil
}
