package s3servers

import (
	"debug/buildinfo"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// VersityGW starts versitygw's posix backend on a temporary directory, with
// a versioning directory so the bucket can be versioned.
func VersityGW(t testing.TB) *Server {
	t.Helper()
	bin := require(t, "VERSITYGW_BIN", "versitygw", "JIBRI_S3_REQUIRE_VERSITYGW", "make compat-servers builds it")
	dir := t.TempDir()
	data, versions := filepath.Join(dir, "data"), filepath.Join(dir, "versions")
	for _, d := range []string{filepath.Join(data, Bucket), versions} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{Kind: Kind{Name: "versitygw", Start: VersityGW}, Bucket: Bucket,
		AccessKey: "versity-test-access", SecretKey: "versity-test-secret-key", Version: builtVersion(bin)}
	port := freePort(t)
	s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
	p := startProc(t, dir, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, bin,
		"--port", "127.0.0.1:"+strconv.Itoa(port), "--access", s.AccessKey, "--secret", s.SecretKey,
		"posix", "--versioning-dir", versions, data)
	s.waitS3(t, p.exited, p.out, 30*time.Second)
	s.enableVersioning(t)
	return s
}

// builtVersion is the module version bin was built from by go install
// ("v1.8.0"), or "" when it was built otherwise.
func builtVersion(bin string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return ""
	}
	return bi.Main.Version
}
