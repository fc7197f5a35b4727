package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/jitsi-recorder/jibri-s3/internal/nulls3"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

// target is an S3 endpoint the tools upload to, always over HTTPS.
type target struct {
	name      string // for the report
	endpoint  string // https://127.0.0.1:port
	caFile    string // PEM of the self-signed certificate
	accessKey string
	secretKey string
	sse       bool // ask for SSE-S3 (AES256)
	null      *nullEndpoint
	dataDir   string // MinIO's data directory
	pid       int    // MinIO's process, 0 for the in-process null endpoint
	client    *s3.Client
	stop      func()
}

const benchBucket = "bench"

// Target names, as in the report.
const (
	targetNull  = "null endpoint (HTTPS, HTTP/1.1)"
	targetMinIO = "MinIO (HTTPS, SSE-S3)"
)

func startNullTarget(dir string) (*target, error) {
	n, err := startNullEndpoint(dir)
	if err != nil {
		return nil, err
	}
	t := &target{name: targetNull, endpoint: n.url, caFile: n.ca, accessKey: "null", secretKey: "null-secret", null: n, stop: n.Close}
	if t.client, err = t.newClient(); err != nil {
		n.Close()
		return nil, err
	}
	return t, nil
}

// MinIO credentials and KMS key name used by the benchmark.
const (
	minioUser   = "benchadmin"
	minioSecret = "benchadmin-secret"
	minioKMSKey = "bench-key"
)

// startMinIOTarget runs MinIO over HTTPS with its data under dir and SSE-S3
// available through a static KMS key, and creates the bucket.
func startMinIOTarget(ctx context.Context, bin, dir string) (*target, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("no MinIO binary at %s (run make tools): %w", bin, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	console, err := freePort()
	if err != nil {
		return nil, err
	}
	certs := filepath.Join(dir, "certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create MinIO certs directory: %w", err)
	}
	caFile := filepath.Join(certs, "public.crt")
	if _, err := nulls3.WriteCert(caFile, filepath.Join(certs, "private.key")); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("cannot generate KMS key: %w", err)
	}
	cmd := exec.Command(bin, "server", filepath.Join(dir, "data"),
		"--address", "127.0.0.1:"+strconv.Itoa(port), "--console-address", "127.0.0.1:"+strconv.Itoa(console),
		"--certs-dir", certs, "--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+minioUser,
		"MINIO_ROOT_PASSWORD="+minioSecret,
		"MINIO_KMS_SECRET_KEY="+minioKMSKey+":"+base64.StdEncoding.EncodeToString(key),
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start MinIO: %w", err)
	}
	t := &target{
		name: targetMinIO, endpoint: fmt.Sprintf("https://127.0.0.1:%d", port), caFile: caFile,
		accessKey: minioUser, secretKey: minioSecret, sse: true, dataDir: filepath.Join(dir, "data"),
		stop: func() { _ = cmd.Process.Kill(); _ = cmd.Wait() },
		pid:  cmd.Process.Pid,
	}
	if err := waitHealthy(ctx, t.endpoint, caFile); err != nil {
		t.stop()
		return nil, fmt.Errorf("%w\n%s", err, out.String())
	}
	if t.client, err = t.newClient(); err != nil {
		t.stop()
		return nil, err
	}
	if _, err := t.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(benchBucket)}); err != nil {
		t.stop()
		return nil, fmt.Errorf("cannot create bucket on MinIO: %w", err)
	}
	return t, nil
}

// serverCPU returns the CPU seconds the server has used so far: MinIO's
// process, or this whole process for the in-process null endpoint.
func (t *target) serverCPU() float64 {
	if t.pid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", t.pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which ends with the last ')'.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(utime+stime) / 100 // USER_HZ
}

func (t *target) newClient() (*s3.Client, error) {
	return s3conn.New(context.Background(), s3conn.Options{
		Region: "us-east-1", Endpoint: t.endpoint, PathStyle: true, CABundle: t.caFile,
		Credentials: credentials.NewStaticCredentialsProvider(t.accessKey, t.secretKey, ""),
	})
}

// empty deletes every object and multipart upload in the bucket, so that
// each run writes new objects and the disk does not fill up.
func (t *target) empty(ctx context.Context) error {
	if t.null != nil {
		return nil
	}
	p := s3.NewListObjectsV2Paginator(t.client, &s3.ListObjectsV2Input{Bucket: aws.String(benchBucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("cannot list the bucket: %w", err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		var ids []types.ObjectIdentifier
		for _, o := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := t.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(benchBucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("cannot empty the bucket: %w", err)
		}
	}
	ups, err := t.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(benchBucket)})
	if err != nil {
		return fmt.Errorf("cannot list multipart uploads: %w", err)
	}
	for _, u := range ups.Uploads {
		_, _ = t.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(benchBucket), Key: u.Key, UploadId: u.UploadId})
	}
	// MinIO moves deleted data to a trash directory it empties lazily;
	// with 8 GiB objects that fills the disk within a few runs.
	trash := filepath.Join(t.dataDir, ".minio.sys", "tmp", ".trash")
	entries, _ := os.ReadDir(trash)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(trash, e.Name()))
	}
	return nil
}

// count returns the number of objects under prefix and their total size.
func (t *target) count(ctx context.Context, prefix string) (int, int64, error) {
	var n int
	var size int64
	p := s3.NewListObjectsV2Paginator(t.client, &s3.ListObjectsV2Input{Bucket: aws.String(benchBucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("cannot list the bucket: %w", err)
		}
		for _, o := range page.Contents {
			n++
			size += aws.ToInt64(o.Size)
		}
	}
	return n, size, nil
}

func waitHealthy(ctx context.Context, endpoint, caFile string) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("cannot read MinIO certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/minio/health/live", nil)
		if err != nil {
			return fmt.Errorf("minio: bad endpoint: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("minio did not become ready at %s", endpoint)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cannot find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
