package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// bench holds what every measurement shares.
type bench struct {
	opts    options
	root    string
	tmp     string
	paths   paths
	run     runner
	self    string // this program, for the references
	commit  string // git describe --always --dirty of the tree built
	targets []*target
	sink    *sink
	stderr  io.Writer
	res     results
}

func newBench(ctx context.Context, o options, root string, stderr io.Writer) (*bench, error) {
	timeBin := gnuTime()
	if timeBin == "" {
		return nil, fmt.Errorf("GNU time is needed for the peak RSS (apt-get install time)")
	}
	tmp, err := os.MkdirTemp("", "peerbench-")
	if err != nil {
		return nil, fmt.Errorf("cannot create temporary directory: %w", err)
	}
	b := &bench{opts: o, root: root, tmp: tmp, paths: o.paths, stderr: stderr}
	b.paths.work = filepath.Join(tmp, "work")
	home := filepath.Join(tmp, "home")
	for _, d := range []string{b.paths.work, home} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			b.close()
			return nil, fmt.Errorf("cannot create %s: %w", d, err)
		}
	}
	b.run = runner{timeBin: timeBin, tmp: b.paths.work, home: home}
	if b.self, err = os.Executable(); err != nil {
		b.close()
		return nil, fmt.Errorf("cannot find this program: %w", err)
	}
	if out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output(); err == nil {
		b.commit = strings.TrimSpace(string(out))
	}
	b.logf("building finalize and bareupload")
	if b.paths.finalize, b.paths.bare, err = build(ctx, root, filepath.Join(tmp, "bin"), o.symbols); err != nil {
		b.close()
		return nil, err
	}
	b.res = results{
		Started: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), CPUModel: cpuModel(),
		PartMiB: o.set.partMiB, Concurrency: o.set.concurrency, Runs: o.runs,
		Versions: b.versions(), Integrity: map[string]string{}, Invocations: 1,
	}
	if o.appendTo {
		if err := b.loadEarlier(); err != nil {
			b.close()
			return nil, err
		}
	}
	for _, name := range strings.Split(o.targets, ",") {
		var t *target
		switch strings.TrimSpace(name) {
		case "null":
			t, err = startNullTarget(filepath.Join(tmp, "null"))
		case "minio":
			b.logf("starting MinIO")
			t, err = startMinIOTarget(ctx, o.minioBin, filepath.Join(tmp, "minio"))
		default:
			err = fmt.Errorf("unknown target %q", name)
		}
		if err != nil {
			b.close()
			return nil, err
		}
		b.targets = append(b.targets, t)
	}
	if b.sink, err = startSink(filepath.Join(tmp, "sink")); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// loadEarlier continues the results.json of an earlier invocation.
func (b *bench) loadEarlier() error {
	data, err := os.ReadFile(filepath.Join(b.opts.out, "results.json"))
	if err != nil {
		return fmt.Errorf("-append: %w", err)
	}
	var earlier results
	if err := json.Unmarshal(data, &earlier); err != nil {
		return fmt.Errorf("-append: cannot parse results.json: %w", err)
	}
	if b.res.Versions != nil {
		if earlier.PartMiB != b.res.PartMiB || earlier.Concurrency != b.res.Concurrency {
			return fmt.Errorf("-append: the earlier results used other settings")
		}
		earlier.Versions = b.res.Versions
	}
	earlier.Invocations++
	b.res = earlier
	return nil
}

func (b *bench) close() {
	for _, t := range b.targets {
		t.stop()
	}
	if b.sink != nil {
		b.sink.Close()
	}
	if b.opts.keepTmp {
		b.logf("keeping %s", b.tmp)
		return
	}
	os.RemoveAll(b.tmp)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}

// versions asks every program for its version.
func (b *bench) versions() map[string]string {
	first := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return "unavailable: " + err.Error()
		}
		return lastLine(strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0])
	}
	return map[string]string{
		toolAWS:    first(b.paths.aws, "--version") + " (Debian package awscli " + debVersion("awscli") + ")",
		toolRclone: goModVersion(b.paths.rclone),
		toolMC:     goModVersion(b.paths.mc),
		"minio":    goModVersion(b.opts.minioBin),
		"sdk":      sdkVersions(b.root),
	}
}

// goModVersion returns the main module and version a Go binary was built
// from (mc and MinIO report DEVELOPMENT.GOGET when installed with go install).
func goModVersion(bin string) string {
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		return "unavailable: " + err.Error()
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" {
			return f[1] + "@" + f[2]
		}
	}
	return "?"
}

// debVersion returns the installed version of a Debian package.
func debVersion(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		return "not installed"
	}
	return strings.TrimSpace(string(out))
}

// sdkVersions returns the aws-sdk-go-v2 module versions finalize builds with.
func sdkVersions(root string) string {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "?"
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "github.com/aws/aws-sdk-go-v2/service/s3" || f[0] == "github.com/aws/aws-sdk-go-v2/feature/s3/manager") {
			out = append(out, strings.TrimPrefix(f[0], "github.com/aws/aws-sdk-go-v2/")+" "+f[1])
		}
	}
	return strings.Join(out, ", ")
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// all runs the start-up measurement, then every workload.
func (b *bench) all(ctx context.Context) error {
	if err := b.startup(ctx); err != nil {
		return err
	}
	if err := b.save(); err != nil {
		return err
	}
	var ws []workload
	for _, s := range b.opts.sizes {
		ws = append(ws, workload{name: sizeName(s), count: 1, mib: s})
	}
	for _, d := range b.opts.lengths {
		ws = append(ws, workload{name: lengthName(d), count: 1, length: d})
	}
	if b.opts.batchCount > 0 {
		ws = append(ws, workload{name: fmt.Sprintf("%d x %s at once", b.opts.batchCount, sizeName(b.opts.batchMiB)), count: b.opts.batchCount, mib: b.opts.batchMiB})
	}
	for _, w := range ws {
		if err := b.workload(ctx, w); err != nil {
			return err
		}
		if err := b.save(); err != nil {
			return err
		}
	}
	return nil
}

func sizeName(mib int64) string {
	if mib >= 1024 && mib%1024 == 0 {
		return fmt.Sprintf("%d GiB", mib/1024)
	}
	return fmt.Sprintf("%d MiB", mib)
}

// workload is count recordings uploaded at once: of mib MiB each, or with
// -media jibri, real MP4s of about mib MiB or of the given length.
type workload struct {
	name   string
	count  int
	mib    int64
	length time.Duration
}

// recordings writes the workload's recordings under dir and names the
// workload (with -media jibri, after the fixture's length or size).
func (b *bench) recordings(ctx context.Context, dir string, wl workload) (string, []recording, *mediaFile, error) {
	name := wl.name
	var mf *mediaFile
	if b.opts.media == mediaJibri {
		m := media{ffmpeg: b.opts.ffmpeg, cache: b.opts.mediaCache, logf: b.logf}
		var f mediaFile
		var err error
		if wl.length > 0 {
			f, err = m.byLength(ctx, wl.length)
			name = fmt.Sprintf("%s MP4 (%s)", lengthName(wl.length), sizeName(f.size>>20))
		} else {
			f, err = m.bySize(ctx, wl.mib<<20)
			name = fmt.Sprintf("%s MP4 (%s)", name, lengthName(f.duration))
		}
		if err != nil {
			return "", nil, nil, err
		}
		mf = &f
		b.logf("media %s: %d bytes, %s, moov %d bytes, boxes %s, %d copies of the source",
			f.path, f.size, f.duration.Round(time.Second), f.moovSize, strings.Join(f.boxes, " "), f.loops)
	}
	if b.opts.label != "" {
		name += " " + b.opts.label
	}
	b.logf("workload %s: writing %d recording(s)", name, wl.count)
	var recs []recording
	for range wl.count {
		var r recording
		var err error
		if mf != nil {
			r, err = makeMediaRecording(dir, mf.path)
		} else {
			r, err = makeRecording(dir, wl.mib<<20)
		}
		if err != nil {
			return "", nil, nil, err
		}
		if err := warmUp(ctx, r.media); err != nil {
			return "", nil, nil, err
		}
		recs = append(recs, r)
	}
	return name, recs, mf, nil
}

// workload uploads the recordings of wl at once with every tool to every
// target, then measures the references.
func (b *bench) workload(ctx context.Context, wl workload) error {
	dir := filepath.Join(b.tmp, "recordings")
	defer os.RemoveAll(dir)
	name, recs, mf, err := b.recordings(ctx, dir, wl)
	if err != nil {
		return err
	}
	count := len(recs)
	w := workloadResult{Name: name, Files: count, Commit: b.commit}
	for _, r := range recs {
		w.Bytes += r.size
	}
	if mf != nil {
		w.Media = mf.json()
		w.Stored = map[string][]storedJSON{}
	}
	for _, t := range b.targets {
		tr := targetRun{Target: t.name, LoadStart: loadAvg(), Samples: map[string][]sampleJSON{}}
		for i := range b.opts.runs {
			order := rotate(b.opts.tools, i)
			for _, tool := range order {
				s, err := b.once(ctx, t, tool, recs, count == 1 && i == 0)
				if err != nil {
					return fmt.Errorf("%s, %s, run %d, %s: %w", name, t.name, i+1, tool, err)
				}
				if mf != nil && t.null != nil && i == 0 {
					st, err := b.stored(ctx, t, tool, recs, mf)
					if err != nil {
						return fmt.Errorf("%s, %s, %s: %w", name, t.name, tool, err)
					}
					w.Stored[tool] = st
				}
				tr.Samples[tool] = append(tr.Samples[tool], s)
				b.logf("%-9s %-32s run %d/%d %-22s %7.2fs %8.1f MB/s  cpu %6.2fs  server cpu %6.2fs  rss %6.1f MiB  load %s",
					name, t.name, i+1, b.opts.runs, tool, s.Wall, s.mbps(w.Bytes), s.CPU, s.ServerCPU, s.RSSMiB, loadAvg())
			}
		}
		tr.LoadEnd = loadAvg()
		w.Targets = append(w.Targets, tr)
	}
	if count == 1 {
		w.Refs = map[string][]sampleJSON{}
		w.RefLoadStart = loadAvg()
		for i := range b.opts.runs {
			for _, ref := range rotate(allRefs, i) {
				flush()
				s, err := b.run.run(ctx, []spec{{name: "peerbench", path: b.self, args: b.sink.refArgs(ref, recs[0].media, b.opts.set.concurrency)}})
				if err != nil {
					return fmt.Errorf("reference %s: %w", ref, err)
				}
				js := toJSON(s)
				w.Refs[ref] = append(w.Refs[ref], js)
				b.logf("%-9s reference %-18s %7.2fs %8.1f MB/s", name, ref, js.Wall, js.mbps(w.Bytes))
			}
		}
		w.RefLoadEnd = loadAvg()
	}
	b.res.Workloads = append(b.res.Workloads, w)
	return nil
}

// once runs one tool once on every recording at the same time.
func (b *bench) once(ctx context.Context, t *target, tool string, recs []recording, observe bool) (sampleJSON, error) {
	flush()
	var specs []spec
	for _, r := range recs {
		s, err := b.paths.command(tool, t, r, b.opts.set)
		if err != nil {
			return sampleJSON{}, err
		}
		specs = append(specs, s)
	}
	var want int64
	for _, r := range recs {
		want += r.size
	}
	var before int64
	if t.null != nil {
		t.null.reset()
		before = t.null.null.Received()
	}
	cpu0 := t.serverCPU()
	s, err := b.run.run(ctx, specs)
	serverCPU := t.serverCPU() - cpu0
	if err != nil {
		return sampleJSON{}, err
	}
	if t.null != nil {
		if got := t.null.null.Received() - before; got < want {
			return sampleJSON{}, fmt.Errorf("the null endpoint received %d bytes, want at least %d", got, want)
		}
	}
	if t.null != nil && observe {
		b.res.Integrity[tool] = t.null.integrity()
	}
	if t.null == nil {
		// A sanity check that the bytes arrived, then a clean bucket.
		n, got, err := t.count(ctx, "")
		if err != nil {
			return sampleJSON{}, err
		}
		if n < len(recs) || got < want {
			return sampleJSON{}, fmt.Errorf("the bucket holds %d objects, %d bytes; want at least %d, %d", n, got, len(recs), want)
		}
		if err := t.empty(ctx); err != nil {
			return sampleJSON{}, err
		}
	}
	js := toJSON(s)
	js.ServerCPU = serverCPU
	return js, nil
}

// rotate returns v rotated left by i.
func rotate(v []string, i int) []string {
	i %= len(v)
	return append(slices.Clone(v[i:]), v[:i]...)
}

// systemCASuffix names the start-up variant without a CA-bundle option.
const systemCASuffix = " (no CA bundle)"

// startup measures, for each tool, the time from exec to the first
// connection reaching the null endpoint, for a tiny recording.
func (b *bench) startup(ctx context.Context) error {
	var null *target
	for _, t := range b.targets {
		if t.null != nil {
			null = t
		}
	}
	if null == nil || b.opts.startupRuns < 1 {
		return nil
	}
	rec, err := makeRecording(filepath.Join(b.tmp, "tiny"), 4<<10)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Join(b.tmp, "tiny"))
	b.res.StartupLoadStart = loadAvg()
	b.res.Startup = map[string][]startupJSON{}
	// Each tool as configured (CA-bundle options), then the Go tools of
	// this repository trusting the endpoint through SSL_CERT_FILE, as they
	// would trust a public endpoint through the system roots.
	var variants []string
	for _, tool := range b.opts.tools {
		variants = append(variants, tool)
		if tool == toolOurs || tool == toolBare {
			variants = append(variants, tool+systemCASuffix)
		}
	}
	for i := range b.opts.startupRuns {
		for _, v := range rotate(variants, i) {
			tool, systemCA := strings.CutSuffix(v, systemCASuffix)
			set := b.opts.set
			set.systemCA = systemCA
			s, err := b.paths.command(tool, null, rec, set)
			if err != nil {
				return err
			}
			null.null.reset()
			cmd := exec.CommandContext(ctx, s.path, s.args...)
			cmd.Env = append(cleanEnv(b.run.home), s.env...)
			out, _ := os.Create(filepath.Join(b.tmp, "startup.log"))
			cmd.Stdout, cmd.Stderr = out, out
			start := time.Now()
			if err = cmd.Start(); err == nil {
				null.null.watchPID.Store(int64(cmd.Process.Pid))
				err = cmd.Wait()
			}
			end := time.Now()
			out.Close()
			if err != nil {
				log, _ := os.ReadFile(filepath.Join(b.tmp, "startup.log"))
				return fmt.Errorf("start-up run of %s: %w\n%s", tool, err, tail(string(log)))
			}
			first, ok := null.null.firstConnection()
			if !ok {
				return fmt.Errorf("start-up run of %s: no connection reached the endpoint", tool)
			}
			j := startupJSON{FirstConn: first.Sub(start).Seconds() * 1000, Total: end.Sub(start).Seconds() * 1000,
				OnCPU: float64(null.null.onCPU.Load()) / 1e6, Waiting: float64(null.null.waiting.Load()) / 1e6}
			b.res.Startup[v] = append(b.res.Startup[v], j)
			b.logf("start-up %-40s first connection %6.1f ms (on CPU %5.1f ms, waiting for a CPU %5.1f ms), done %6.1f ms", v, j.FirstConn, j.OnCPU, j.Waiting, j.Total)
		}
	}
	b.res.StartupLoadEnd = loadAvg()
	return nil
}
