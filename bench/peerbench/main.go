// Command peerbench measures finalize against the tools operators use to
// put a Jibri recording into S3 today (aws CLI v2, rclone, mc), against a
// bare manager.Uploader with the same settings, and against the physical
// references of the machine (page-cache read, loopback TCP and TLS).
//
//	go run ./bench/peerbench -sizes 256,2048,8192 -batch 10x200 -runs 3
//
// Two targets, both over HTTPS: MinIO on loopback with SSE-S3 (the
// realistic one) and the in-repo null S3 endpoint (package nulls3, HTTP/1.1;
// the client's own ceiling). Workloads are single recordings of -sizes MiB
// and a backlog of -batch recordings uploaded at once (one process per
// recording for every tool). Each tool runs -runs times per workload and
// target, the order rotating run by run; wall time, CPU seconds (user+sys)
// and peak RSS (GNU time's %M) are taken per process. It also measures
// the start-up cost of each tool: from exec to the first connection
// reaching the null endpoint, for a tiny recording.
//
// With -media jibri the recordings are real MP4s, moov last, as Jibri
// leaves them: one minute encoded by ffmpeg with Jibri's settings, repeated
// by stream copy to about each of -sizes, or to each of -lengths. They are
// kept in -media-cache. Run the tools finalize and finalize-nofaststart to
// see what rearranging the file for faststart costs.
//
// It writes report.md (Markdown), results.json (every sample) and
// chart.json (the input of bench/chart, which draws chart.png) into -out.
// Peers come from -aws, -rclone and -mc; make bench installs pinned
// versions. Progress goes to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "peerbench: %v\n", err)
		}
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	sizes       []int64 // MiB
	media       string  // mediaRandom or mediaJibri
	lengths     []time.Duration
	mediaCache  string
	ffmpeg      string
	batchCount  int
	batchMiB    int64
	runs        int
	startupRuns int
	set         settings
	tools       []string
	minioBin    string
	paths       paths
	out         string
	targets     string
	keepTmp     bool
	symbols     bool   // keep the symbol table (for perf)
	appendTo    bool   // add to the results.json already in out
	label       string // appended to the workload names
	renderOnly  bool   // rewrite report.md and chart.json from results.json
	ref         string // child mode
	refFile     string
	refAddr     string
	refCA       string
	refStreams  int
}

func parseFlags(args []string, stderr io.Writer, root string) (options, error) {
	var o options
	fs := flag.NewFlagSet("peerbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", "256,2048,8192", "single-recording workloads, MiB, comma-separated")
	batch := fs.String("batch", "10x200", "backlog workload: COUNTxMiB recordings at once, or empty")
	fs.StringVar(&o.media, "media", mediaRandom, "media files: random (an ftyp box, then random bytes) or jibri (a real MP4 from ffmpeg with Jibri's settings, its moov last, repeated by stream copy to about each size)")
	lengths := fs.String("lengths", "", "with -media jibri: more single-recording workloads given by length (whole minutes, comma-separated, e.g. 1h)")
	fs.StringVar(&o.mediaCache, "media-cache", filepath.Join(root, ".cache", "bench"), "with -media jibri: where the MP4 fixtures are kept between runs")
	fs.StringVar(&o.ffmpeg, "ffmpeg", mediatest.Binary(), "with -media jibri: ffmpeg ($FFMPEG_BIN or $PATH)")
	tools := fs.String("tools", "finalize,bare,aws,rclone,mc", "tools to run, comma-separated")
	fs.IntVar(&o.runs, "runs", 3, "measured runs per tool, workload and target")
	fs.IntVar(&o.startupRuns, "startup-runs", 7, "runs of the start-up measurement per tool")
	fs.Int64Var(&o.set.partMiB, "part-size", 16, "part size in MiB, for every tool")
	fs.IntVar(&o.set.concurrency, "concurrency", 4, "parts in flight per recording, for every tool")
	fs.StringVar(&o.targets, "targets", "null,minio", "targets: null, minio or both")
	fs.StringVar(&o.minioBin, "minio-bin", filepath.Join(root, ".tools", "bin", "minio"), "MinIO binary")
	fs.StringVar(&o.paths.aws, "aws", "/usr/bin/aws", "aws CLI v2")
	fs.StringVar(&o.paths.rclone, "rclone", filepath.Join(root, ".tools", "bench", "bin", "rclone"), "rclone")
	fs.StringVar(&o.paths.mc, "mc", filepath.Join(root, ".tools", "bench", "bin", "mc"), "MinIO client")
	fs.StringVar(&o.out, "out", filepath.Join(root, "bench", "report"), "report directory")
	fs.BoolVar(&o.keepTmp, "keep-tmp", false, "keep the temporary directory")
	fs.BoolVar(&o.appendTo, "append", false, "add the workloads to the results.json already in -out (start-up kept unless -startup-runs > 0)")
	fs.BoolVar(&o.renderOnly, "render", false, "only rewrite report.md and chart.json from the results.json in -out")
	fs.StringVar(&o.label, "label", "", "appended to the workload names, e.g. to tell an -append block apart")
	fs.BoolVar(&o.symbols, "symbols", false, "build finalize and bareupload with their symbol tables, for perf")
	fs.StringVar(&o.ref, "ref", "", "internal: run one physical reference")
	fs.StringVar(&o.refFile, "ref-file", "", "internal")
	fs.StringVar(&o.refAddr, "ref-addr", "", "internal")
	fs.StringVar(&o.refCA, "ref-ca", "", "internal")
	fs.IntVar(&o.refStreams, "ref-streams", 4, "internal")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(*sizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return o, fmt.Errorf("bad -sizes entry %q", s)
		}
		o.sizes = append(o.sizes, n)
	}
	if *batch != "" {
		c, m, ok := strings.Cut(*batch, "x")
		n, err1 := strconv.Atoi(c)
		size, err2 := strconv.ParseInt(m, 10, 64)
		if !ok || err1 != nil || err2 != nil || n < 1 || size < 1 {
			return o, fmt.Errorf("bad -batch %q (want e.g. 10x200)", *batch)
		}
		o.batchCount, o.batchMiB = n, size
	}
	if o.media != mediaRandom && o.media != mediaJibri {
		return o, fmt.Errorf("bad -media %q (want %s or %s)", o.media, mediaRandom, mediaJibri)
	}
	for _, s := range strings.Split(*lengths, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < sourceLength || d%sourceLength != 0 {
			return o, fmt.Errorf("bad -lengths entry %q (want whole minutes, e.g. 1h or 90m)", s)
		}
		o.lengths = append(o.lengths, d)
	}
	if len(o.lengths) > 0 && o.media != mediaJibri {
		return o, errors.New("-lengths needs -media jibri")
	}
	for _, t := range strings.Split(*tools, ",") {
		t = strings.TrimSpace(t)
		if full, ok := toolAliases[t]; ok {
			t = full
		}
		if !slices.Contains(allTools, t) {
			return o, fmt.Errorf("unknown tool %q in -tools", t)
		}
		o.tools = append(o.tools, t)
	}
	if o.runs < 1 || o.set.concurrency < 1 || o.set.partMiB < 5 {
		return o, errors.New("-runs and -concurrency must be positive, -part-size at least 5")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	o, err := parseFlags(args, stderr, root)
	if err != nil {
		return err
	}
	if o.ref != "" {
		return runRef(o.ref, o.refFile, o.refAddr, o.refCA, o.refStreams)
	}
	if o.renderOnly {
		b := &bench{opts: o, stderr: stderr}
		if err := b.loadEarlier(); err != nil {
			return err
		}
		b.res.Invocations--
		return b.save()
	}
	b, err := newBench(ctx, o, root, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	return b.all(ctx)
}

// build compiles finalize (as make build does) and bareupload into dir.
func build(ctx context.Context, root, dir string, symbols bool) (finalize, bare string, err error) {
	ldflags := "-s -w"
	if symbols {
		ldflags = ""
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", dir+string(filepath.Separator), "./cmd/finalize", "./bench/bareupload")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build failed: %w\n%s", err, out)
	}
	return filepath.Join(dir, "finalize"), filepath.Join(dir, "bareupload"), nil
}

// moduleRoot returns the nearest directory upwards holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("cannot find the working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the module: no go.mod above the working directory")
		}
		dir = parent
	}
}
