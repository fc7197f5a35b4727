package s3servers

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

// Bucket is the name of the bucket every server is started with.
const Bucket = "recordings"

// Server is one running store with its bucket.
type Server struct {
	Kind      Kind
	Version   string // as the server or its build reports it
	Endpoint  string // http://127.0.0.1:port
	Bucket    string
	AccessKey string
	SecretKey string
	CABundle  string
	// Versioning is "" when the bucket's versioning was enabled, else why
	// it could not be (the store's answer).
	Versioning string
}

// Kind is one store the matrix covers.
type Kind struct {
	Name string
	// Start runs the store until the test ends, or ends the test (skip, or
	// fail when the store is required).
	Start func(t testing.TB) *Server
	// Notes are what a reader of the matrix must know that no request to
	// the store shows.
	Notes []string
}

// Kinds lists the stores in the order of the matrix.
func Kinds() []Kind {
	return []Kind{
		{Name: "MinIO", Start: MinIO},
		{Name: "versitygw", Start: VersityGW},
		{Name: "SeaweedFS", Start: SeaweedFS},
		{Name: "gofakes3", Start: GoFakeS3, Notes: []string{"gofakes3 keeps objects in memory as sent and returns " +
			"the x-amz-server-side-encryption header it was given: \"SSE-S3 honoured\" means reported back, nothing is encrypted."}},
	}
}

// Conn returns connection options with the server's credentials.
func (s *Server) Conn() s3conn.Options {
	return s3conn.Options{
		Region:      "us-east-1",
		Endpoint:    s.Endpoint,
		PathStyle:   true,
		CABundle:    s.CABundle,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	}
}

// Client returns an S3 client for the server.
func (s *Server) Client(t testing.TB) *s3.Client {
	t.Helper()
	c, err := s3conn.New(context.Background(), s.Conn())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Env returns the environment finalize and recwatch need to reach the
// server's bucket (no other AWS setting of the machine leaks in).
func (s *Server) Env() []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"JIBRI_UPLOAD_BUCKET=" + s.Bucket,
		"JIBRI_UPLOAD_ENDPOINT=" + s.Endpoint,
		"JIBRI_UPLOAD_PATH_STYLE=true",
	}
	if s.CABundle != "" {
		env = append(env, "JIBRI_UPLOAD_CA_BUNDLE="+s.CABundle)
	}
	return env
}

// require returns the binary named by env var binVar, else name on $PATH,
// or ends the test: a failure when requireVar=1, a skip otherwise.
func require(t testing.TB, binVar, name, requireVar, hint string) string {
	t.Helper()
	if p := os.Getenv(binVar); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	} else if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s binary not found (set %s; %s)", name, binVar, hint)
	if os.Getenv(requireVar) == "1" {
		t.Fatalf("%s; %s=1 makes this a failure", msg, requireVar)
	}
	t.Skip(msg)
	return ""
}

// enableVersioning turns versioning on and returns "" or the store's refusal.
func (s *Server) enableVersioning(t testing.TB) {
	t.Helper()
	_, err := s.Client(t).PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(s.Bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		s.Versioning = err.Error()
	}
}

// freePort returns a port free on 127.0.0.1 at the time of the call.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitS3 waits until the bucket answers HeadBucket (any store answers
// before its bucket exists or its storage is up otherwise).
func (s *Server) waitS3(t testing.TB, exited <-chan struct{}, out fmt.Stringer, within time.Duration) {
	t.Helper()
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var err error
	for {
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = c.HeadBucket(rctx, &s3.HeadBucketInput{Bucket: aws.String(s.Bucket)})
		rcancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("s3servers: %s exited before it was ready:\n%s", s.Kind.Name, out)
		case <-ctx.Done():
			t.Fatalf("s3servers: %s not ready within %s (last: %v):\n%s", s.Kind.Name, within, err, out)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// firstLine returns the first non-empty line of b, trimmed.
func firstLine(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}
