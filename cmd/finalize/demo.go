package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/config"
	"github.com/jitsi-recorder/jibri-s3/internal/demo"
	"github.com/jitsi-recorder/jibri-s3/internal/fakes3"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
)

// runDemo creates a sample recording and finalizes it against an embedded
// S3 (gofakes3 on disk) with no AWS account. It is only ever reached through
// the explicit "demo" subcommand.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("finalize demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "demo-data", "working directory for the sample recording and the embedded S3 store")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	root, err := filepath.Abs(*dir)
	if err != nil {
		return fail(stderr, exitUsage, err, "")
	}
	store := filepath.Join(root, "s3")
	srv, err := fakes3.NewDir(store)
	if err != nil {
		return fail(stderr, exitInternal, err, "")
	}
	defer srv.Close()
	const bucket = "recordings"
	if err := srv.CreateBucket(bucket); err != nil {
		return fail(stderr, exitInternal, err, "")
	}
	recDir, err := demo.Recording(ctx, filepath.Join(root, "recordings"), time.Now())
	if err != nil {
		return fail(stderr, exitInternal, err, "")
	}
	fmt.Fprintf(stdout, "demo: embedded S3 (gofakes3, files under %s) at %s\n", store, srv.URL)
	fmt.Fprintf(stdout, "demo: sample recording %s\n", recDir)

	cfg := config.Defaults()
	cfg.Bucket = bucket
	cfg.Endpoint = srv.URL
	cfg.PathStyle = true
	cfg.Environment = "demo"
	cfg.Deadline = time.Minute
	cfg.LogFormat = "console"
	if f := getenv("JIBRI_UPLOAD_LOG_FORMAT"); f != "" {
		cfg.LogFormat = f
	}
	if err := cfg.Validate(); err != nil {
		return fail(stderr, exitInternal, err, "")
	}
	code := finalizeDir(ctx, cfg, srv.Conn(), recDir, stdout, stderr, getenv)
	if code != exitOK {
		return code
	}
	// Show where the objects landed on the embedded store's disk.
	fmt.Fprintln(stdout, "demo: objects on the embedded store's disk:")
	_ = filepath.Walk(filepath.Join(store, "buckets"), func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			rel, _ := filepath.Rel(store, p)
			fmt.Fprintf(stdout, "  %s (%d bytes)\n", rel, info.Size())
		}
		return nil
	})
	fmt.Fprintf(stdout, "demo: metrics (EMF) appended to %s\n", metrics.Spool(filepath.Dir(recDir)))
	if _, err := os.Stat(recDir); os.IsNotExist(err) {
		fmt.Fprintln(stdout, "demo: local recording directory removed after verification")
	}
	return exitOK
}
