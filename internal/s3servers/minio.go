package s3servers

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
)

// MinIO starts a MinIO through miniotest, with a versioned bucket and a KMS
// key (SSE-S3 works).
func MinIO(t testing.TB) *Server {
	t.Helper()
	m := miniotest.Start(t, miniotest.Options{})
	s := &Server{Kind: Kind{Name: "MinIO", Start: MinIO}, Endpoint: m.Endpoint, CABundle: m.CABundle,
		AccessKey: miniotest.AccessKey, SecretKey: miniotest.SecretKey, Bucket: m.Bucket(t, Bucket)}
	// go install leaves "DEVELOPMENT.GOGET" in --version: the module
	// version the binary was built from says more.
	if s.Version = builtVersion(miniotest.Binary()); s.Version == "" {
		if b, err := exec.Command(miniotest.Binary(), "--version").Output(); err == nil {
			s.Version = strings.TrimPrefix(firstLine(b), "minio version ")
		}
	}
	return s
}
