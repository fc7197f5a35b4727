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
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/nulls3"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

// target is an S3 endpoint to upload to.
type target struct {
	name      string // for the report, e.g. "null (https)"
	endpoint  string
	caFile    string
	accessKey string
	secretKey string
	bucket    string
	sse       string // finalize's JIBRI_UPLOAD_SSE value: none or aes256
	client    *s3.Client
}

const benchBucket = "bench"

func scheme(useTLS bool) string {
	if useTLS {
		return "https"
	}
	return "http"
}

// startNull starts the in-process null endpoint.
func startNull(useTLS bool) (target, func(), error) {
	srv := nulls3.New()
	url, ca, err := srv.Start(useTLS)
	if err != nil {
		return target{}, nil, err
	}
	t := target{
		name: "null (" + scheme(useTLS) + ")", endpoint: url, caFile: ca,
		accessKey: "null", secretKey: "null-secret", bucket: benchBucket, sse: "none",
	}
	if t.client, err = t.newClient(); err != nil {
		srv.Close()
		return target{}, nil, err
	}
	return t, func() { srv.Close() }, nil
}

// MinIO credentials and KMS key name used by the benchmark.
const (
	minioUser   = "benchadmin"
	minioSecret = "benchadmin-secret"
	minioKMSKey = "bench-key"
)

// startMinIO runs MinIO with its data under dir, with SSE-S3 available
// through a static KMS key, and creates the bucket.
func startMinIO(ctx context.Context, bin, dir string, useTLS bool) (target, func(), error) {
	if _, err := os.Stat(bin); err != nil {
		return target{}, nil, fmt.Errorf("no MinIO binary at %s (run make tools, set MINIO_BIN, or pass -minio=false): %w", bin, err)
	}
	port, err := freePort()
	if err != nil {
		return target{}, nil, err
	}
	console, err := freePort()
	if err != nil {
		return target{}, nil, err
	}
	args := []string{"server", filepath.Join(dir, "data"),
		"--address", "127.0.0.1:" + strconv.Itoa(port), "--console-address", "127.0.0.1:" + strconv.Itoa(console), "--quiet"}
	var caFile string
	if useTLS {
		certs := filepath.Join(dir, "certs")
		if err := os.MkdirAll(certs, 0o700); err != nil {
			return target{}, nil, fmt.Errorf("cannot create MinIO certs directory: %w", err)
		}
		caFile = filepath.Join(certs, "public.crt")
		if _, err := nulls3.WriteCert(caFile, filepath.Join(certs, "private.key")); err != nil {
			return target{}, nil, err
		}
		args = append(args, "--certs-dir", certs)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return target{}, nil, fmt.Errorf("cannot generate KMS key: %w", err)
	}
	cmd := exec.Command(bin, args...)
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
		return target{}, nil, fmt.Errorf("cannot start MinIO: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	t := target{
		name:     "minio (" + scheme(useTLS) + ")",
		endpoint: fmt.Sprintf("%s://127.0.0.1:%d", scheme(useTLS), port), caFile: caFile,
		accessKey: minioUser, secretKey: minioSecret, bucket: benchBucket, sse: "aes256",
	}
	if err := waitHealthy(ctx, t.endpoint, caFile); err != nil {
		stop()
		return target{}, nil, fmt.Errorf("%w\n%s", err, out.String())
	}
	if t.client, err = t.newClient(); err != nil {
		stop()
		return target{}, nil, err
	}
	if _, err := t.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(t.bucket)}); err != nil {
		stop()
		return target{}, nil, fmt.Errorf("cannot create bucket on MinIO: %w", err)
	}
	return t, stop, nil
}

// newClient returns an SDK client for checks (bucket creation, HeadObject).
func (t target) newClient() (*s3.Client, error) {
	return s3conn.New(context.Background(), s3conn.Options{
		Region: "us-east-1", Endpoint: t.endpoint, PathStyle: true, CABundle: t.caFile,
		Credentials: credentials.NewStaticCredentialsProvider(t.accessKey, t.secretKey, ""),
	})
}

func waitHealthy(ctx context.Context, endpoint, caFile string) error {
	client := &http.Client{Timeout: time.Second}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("cannot read MinIO certificate: %w", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
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
