package finalize

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/keytmpl"
	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

type env struct {
	client *s3.Client
	runner *Runner
	bucket string
	spool  string
}

type envOpts struct {
	bucket   string
	partSize int64
	sse      string
	kms      string
	deadline time.Duration
	attempts int
	alg      checksum.Algorithm
	// faststart rearranges MP4 files while uploading, as the binaries do
	// by default.
	faststart bool
}

func newEnv(t *testing.T, conn s3conn.Options, o envOpts) *env {
	t.Helper()
	client, err := s3conn.New(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if o.partSize == 0 {
		o.partSize = 5 << 20
	}
	if o.deadline == 0 {
		o.deadline = 30 * time.Second
	}
	if o.attempts == 0 {
		o.attempts = 2
	}
	if o.alg == "" {
		o.alg = checksum.CRC32C
	}
	up := upload.New(client, upload.Options{Bucket: o.bucket, PartSize: o.partSize, Concurrency: 4, Checksum: o.alg, SSE: o.sse, KMSKeyID: o.kms,
		Faststart: o.faststart})
	spool := filepath.Join(t.TempDir(), "emf.jsonl")
	r := New(Config{
		Bucket: o.bucket, Prefix: "recordings", Template: keytmpl.MustParse(keytmpl.Default), SSE: o.sse, KMSKeyID: o.kms,
		Deadline: o.deadline, Backoff: Backoff{Attempts: o.attempts, Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Namespace: "Jitsi/Recordings", Environment: "test",
	}, up, client, zerolog.New(zerolog.NewTestWriter(t)), metrics.FileSink{Path: spool})
	return &env{client: client, runner: r, bucket: o.bucket, spool: spool}
}

// recDir makes <tmp>/recordings/<session> and returns it.
func recDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "recordings", "7d3e6c1a-0b2f-4a5e-9c8d-1e2f3a4b5c6d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshot returns name -> content of every entry in dir (symlinks as
// "-> target"), to prove a failed run changed nothing but our state file.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.Type()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			out[e.Name()] = "-> " + target
			continue
		}
		if e.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			out[e.Name()] = string(b)
		} else {
			out[e.Name()] = e.Type().String()
		}
	}
	return out
}

func assertIntact(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	after := snapshot(t, dir)
	for name, content := range before {
		if after[name] != content {
			t.Errorf("%s changed or vanished", name)
		}
	}
}

func (e *env) get(t *testing.T, key string) []byte {
	t.Helper()
	out, err := e.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) manifest(t *testing.T, key string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Decode(e.get(t, key))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
