package s3servers

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/jitsi-recorder/jibri-s3/internal/fakes3"
)

// GoFakeS3 serves gofakes3 (in memory, versioned) in this process through
// package fakes3. It is always available.
func GoFakeS3(t testing.TB) *Server {
	t.Helper()
	f, err := fakes3.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	if err := f.CreateBucket(Bucket); err != nil {
		t.Fatal(err)
	}
	s := &Server{Kind: Kind{Name: "gofakes3", Start: GoFakeS3}, Endpoint: f.URL, Bucket: Bucket,
		AccessKey: fakes3.AccessKey, SecretKey: fakes3.SecretKey, Version: moduleVersion("github.com/johannesboyne/gofakes3")}
	s.enableVersioning(t)
	return s
}

// moduleVersion is the version of a dependency of this module, as go.mod
// selects it (test binaries carry no dependency list to read).
func moduleVersion(path string) string {
	b, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", path).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
