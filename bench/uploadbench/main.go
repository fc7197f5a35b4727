// Command uploadbench measures finalize's upload against a bare
// manager.Uploader with the same transport, part size and concurrency.
//
//	go run ./bench/uploadbench -size 2048 -runs 3
//
// It builds ./cmd/finalize and ./bench/bareupload, writes a test recording
// laid out like Jibri's, and uploads it to two targets: a null S3 endpoint
// in this process (package nulls3; it discards the bytes, so it shows the
// client's own ceiling) and MinIO started as a subprocess (a real server
// writing to disk, with SSE-S3). Each tool runs -runs times per target
// after one unrecorded warm-up round, the order alternating run by run.
// Wall time, throughput, user+sys CPU and peak RSS (through GNU time when
// available, see measure) are taken per child process. A Markdown table
// goes to stdout and to -out; progress goes to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "uploadbench: %v\n", err)
		}
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	sizeMiB     int64
	runs        int
	partMiB     int64
	concurrency int
	null        bool
	nullTLS     bool
	minio       bool
	minioTLS    bool
	minioBin    string
	out         string
	keepTmp     bool
	warmUp      bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("uploadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Int64Var(&o.sizeMiB, "size", 2048, "test file size in MiB")
	fs.IntVar(&o.runs, "runs", 3, "runs per tool and target")
	fs.Int64Var(&o.partMiB, "part-size", 16, "part size in MiB (both tools)")
	fs.IntVar(&o.concurrency, "concurrency", 4, "parts in flight (both tools)")
	fs.BoolVar(&o.null, "null", true, "benchmark against the in-process null endpoint")
	fs.BoolVar(&o.nullTLS, "null-tls", true, "serve the null endpoint over HTTPS")
	fs.BoolVar(&o.minio, "minio", true, "benchmark against MinIO")
	fs.BoolVar(&o.minioTLS, "minio-tls", false, "serve MinIO over HTTPS")
	fs.StringVar(&o.minioBin, "minio-bin", os.Getenv("MINIO_BIN"), "MinIO binary (default $MINIO_BIN, else .tools/bin/minio)")
	fs.StringVar(&o.out, "out", filepath.Join("bench", "out", "upload.md"), "Markdown report, relative to the module root unless absolute")
	fs.BoolVar(&o.warmUp, "warm-up", true, "run each tool once per target before the measured runs, unrecorded")
	fs.BoolVar(&o.keepTmp, "keep-tmp", false, "keep the temporary directory (binaries, recording, MinIO data)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() != 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.sizeMiB < 1 || o.runs < 1 || o.concurrency < 1:
		return o, errors.New("-size, -runs and -concurrency must be positive")
	case o.partMiB < 5:
		return o, errors.New("-part-size must be at least 5 MiB")
	case !o.null && !o.minio:
		return o, errors.New("nothing to do: both -null and -minio are off")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if o.minioBin == "" {
		o.minioBin = filepath.Join(root, ".tools", "bin", "minio")
	}
	if !filepath.IsAbs(o.out) {
		o.out = filepath.Join(root, o.out)
	}
	tmp, err := os.MkdirTemp("", "uploadbench-")
	if err != nil {
		return fmt.Errorf("cannot create temporary directory: %w", err)
	}
	if o.keepTmp {
		fmt.Fprintf(stderr, "keeping %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	fmt.Fprintln(stderr, "building finalize and bareupload")
	bins, err := build(ctx, root, filepath.Join(tmp, "bin"))
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "writing a %d MiB recording\n", o.sizeMiB)
	rec, err := makeRecording(filepath.Join(tmp, "recordings"), o.sizeMiB<<20)
	if err != nil {
		return err
	}
	if err := warmUp(ctx, rec.media); err != nil {
		return err
	}

	b := &bench{opts: o, bins: bins, rec: rec, timeBin: gnuTime(), stderr: stderr}
	if b.timeBin == "" {
		fmt.Fprintln(stderr, "no GNU time: peak RSS is the direct child's ru_maxrss, floored by this process's own peak")
	}
	var results []targetResult
	if o.null {
		t, stop, err := startNull(o.nullTLS)
		if err != nil {
			return err
		}
		r, err := b.target(ctx, t)
		stop()
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if o.minio {
		t, stop, err := startMinIO(ctx, o.minioBin, filepath.Join(tmp, "minio"), o.minioTLS)
		if err != nil {
			return err
		}
		r, err := b.target(ctx, t)
		stop()
		if err != nil {
			return err
		}
		results = append(results, r)
	}

	report := markdown(header{
		sizeMiB: o.sizeMiB, partMiB: o.partMiB, concurrency: o.concurrency, runs: o.runs,
		goVersion: runtime.Version(), cpus: runtime.NumCPU(), when: time.Now().UTC(), exactRSS: b.timeBin != "",
	}, results)
	fmt.Fprint(stdout, report)
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return fmt.Errorf("cannot create report directory: %w", err)
	}
	if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	fmt.Fprintf(stderr, "report written to %s\n", o.out)
	return nil
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
