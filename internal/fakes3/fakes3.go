// Package fakes3 serves gofakes3 over plain HTTP on 127.0.0.1, for fast
// API-flow tests (in memory, versioned) and for the no-AWS demo (on disk).
//
// gofakes3 does not verify checksums: it stores the x-amz-checksum-* headers
// a client sends and returns them on HEAD, and returns no checksum for
// multipart objects. It proves the flow of calls, never integrity; the
// integration tests use MinIO for that. It must only be served over plain
// HTTP (over TLS it stores aws-chunked framing as object data).
package fakes3

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

// Credentials gofakes3 accepts (it checks none).
const (
	AccessKey = "demo"
	SecretKey = "demo-secret"
)

// Server is a running gofakes3.
type Server struct {
	URL     string
	backend gofakes3.Backend
	srv     *http.Server
}

// NewMemory serves an in-memory, versioned store.
func NewMemory() (*Server, error) {
	return serve(s3mem.New())
}

// NewDir serves a store kept as files under dir.
func NewDir(dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fakes3: %w", err)
	}
	fs, err := s3afero.FsPath(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("fakes3: %w", err)
	}
	b, err := s3afero.MultiBucket(fs)
	if err != nil {
		return nil, fmt.Errorf("fakes3: %w", err)
	}
	return serve(b)
}

func serve(b gofakes3.Backend) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakes3: %w", err)
	}
	faker := gofakes3.New(b)
	s := &Server{URL: "http://" + ln.Addr().String(), backend: b,
		srv: &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// CreateBucket creates a bucket if it does not exist.
func (s *Server) CreateBucket(name string) error {
	ok, err := s.backend.BucketExists(name)
	if err != nil || ok {
		return err
	}
	if err := s.backend.CreateBucket(name); err != nil {
		return fmt.Errorf("fakes3: cannot create bucket: %w", err)
	}
	return nil
}

// Conn returns connection options for this server.
func (s *Server) Conn() s3conn.Options {
	return s3conn.Options{
		Region:      "us-east-1",
		Endpoint:    s.URL,
		PathStyle:   true,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		MaxAttempts: 2,
	}
}

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
