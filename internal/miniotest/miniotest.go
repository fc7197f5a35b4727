// Package miniotest starts a real MinIO server for integration tests: on
// 127.0.0.1, in a fresh temporary directory, with a KMS key (so SSE-S3 and
// SSE-KMS work), optionally over TLS with a generated certificate, and with a
// versioned bucket.
//
// The binary is found through $MINIO_BIN, then .tools/bin/minio at the module
// root, then $PATH. When it is missing the test is skipped, unless
// JIBRI_S3_REQUIRE_MINIO=1 (set by `make test` and CI), where it fails.
package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/testcert"
)

// Credentials of every test server.
const (
	AccessKey = "minio-test-root"
	SecretKey = "minio-test-secret-key"
	KMSKeyID  = "test-key"
)

// Server is a running MinIO.
type Server struct {
	Endpoint string // http(s)://127.0.0.1:port
	CABundle string // PEM of the server certificate when TLS is on
	Dir      string
	cmd      *exec.Cmd
	args     []string
	env      []string
	t        testing.TB
}

// Options for Start.
type Options struct {
	TLS bool
}

// Binary locates the MinIO binary or returns "".
func Binary() string {
	if p := os.Getenv("MINIO_BIN"); p != "" {
		return p
	}
	if root := moduleRoot(); root != "" {
		p := filepath.Join(root, ".tools", "bin", "minio")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	return ""
}

// Require returns the binary or ends the test: a failure when
// JIBRI_S3_REQUIRE_MINIO=1, a skip otherwise.
func Require(t testing.TB) string {
	t.Helper()
	bin := Binary()
	if bin != "" {
		return bin
	}
	msg := "minio binary not found (run `make tools` or set MINIO_BIN)"
	if os.Getenv("JIBRI_S3_REQUIRE_MINIO") == "1" {
		t.Fatal(msg + "; JIBRI_S3_REQUIRE_MINIO=1 makes this a failure")
	}
	t.Skip(msg)
	return ""
}

func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := Require(t)
	dir := t.TempDir()
	s := &Server{Dir: dir, t: t}
	port, console := freePort(t), freePort(t)
	scheme := "http"
	s.args = []string{"server", filepath.Join(dir, "data"), "--address", "127.0.0.1:" + strconv.Itoa(port), "--console-address", "127.0.0.1:" + strconv.Itoa(console), "--quiet"}
	if o.TLS {
		certs := filepath.Join(dir, "certs")
		s.CABundle = writeCert(t, certs)
		s.args = append(s.args, "--certs-dir", certs)
		scheme = "https"
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s.env = append(os.Environ(),
		"MINIO_ROOT_USER="+AccessKey,
		"MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_KMS_SECRET_KEY="+KMSKeyID+":"+base64.StdEncoding.EncodeToString(key),
		"MINIO_UPDATE=off",
	)
	s.Endpoint = fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
	s.start(bin)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start(bin string) {
	s.t.Helper()
	cmd := exec.Command(bin, s.args...)
	cmd.Env = s.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("miniotest: cannot start minio: %v", err)
	}
	s.cmd = cmd
	client := &http.Client{Timeout: time.Second}
	if s.CABundle != "" {
		client.Transport = &http.Transport{TLSClientConfig: tlsConfig(s.t, s.CABundle)}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		// ready, not live: live answers before the object layer is up,
		// and the first request then gets 503 XMinioServerNotInitialized.
		resp, err := client.Get(s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	s.t.Fatalf("miniotest: minio did not become ready: %s", out.String())
}

// Stop kills the server (idempotent).
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start(Require(s.t))
}

// Conn returns connection options for this server with root credentials.
func (s *Server) Conn() s3conn.Options {
	return s3conn.Options{
		Region:      "us-east-1",
		Endpoint:    s.Endpoint,
		PathStyle:   true,
		CABundle:    s.CABundle,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	}
}

// Client returns an S3 client with root credentials.
func (s *Server) Client(t testing.TB) *s3.Client {
	t.Helper()
	c, err := s3conn.New(context.Background(), s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Bucket creates a versioned bucket and returns its name.
func (s *Server) Bucket(t testing.TB, name string) string {
	t.Helper()
	ctx := context.Background()
	c := s.Client(t)
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		var api interface{ ErrorCode() string }
		if err == nil || !errors.As(err, &api) || api.ErrorCode() != "XMinioServerNotInitialized" || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		t.Fatalf("enable versioning: %v", err)
	}
	return name
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeCert creates a self-signed certificate for 127.0.0.1 in dir
// (public.crt, private.key) and returns the path of the certificate.
func writeCert(t testing.TB, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := testcert.New(24 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	crt := filepath.Join(dir, "public.crt")
	if err := c.Write(crt, filepath.Join(dir, "private.key")); err != nil {
		t.Fatal(err)
	}
	return crt
}

func tlsConfig(t testing.TB, caFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
