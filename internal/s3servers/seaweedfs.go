package s3servers

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SeaweedFS starts `weed mini` (master, volume, filer and S3 gateway in one
// process; WebDAV, the admin UI, the Iceberg and Lance catalogs off) on a temporary
// directory. Its S3 gateway takes the credentials from the environment.
// Every port is given: weed mini moves a service whose port is taken to
// another one, and the endpoint would then be wrong.
func SeaweedFS(t testing.TB) *Server {
	t.Helper()
	bin := require(t, "SEAWEEDFS_BIN", "weed", "JIBRI_S3_REQUIRE_SEAWEEDFS", "make compat-servers builds it")
	dir := t.TempDir()
	s := &Server{Kind: Kind{Name: "SeaweedFS", Start: SeaweedFS}, Bucket: Bucket,
		AccessKey: "seaweed-test-access", SecretKey: "seaweed-test-secret-key", Version: seaweedVersion(bin)}
	ports := grpcPairs(t, 5)
	s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(ports[3])
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey}
	p := startProc(t, dir, env, bin, "mini", "-dir="+dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-bucket="+Bucket,
		"-master.port="+strconv.Itoa(ports[0]), "-volume.port="+strconv.Itoa(ports[1]),
		"-filer.port="+strconv.Itoa(ports[2]), "-s3.port="+strconv.Itoa(ports[3]),
		"-admin.port="+strconv.Itoa(ports[4]), "-admin.port.legacy=0", "-admin.ui=false",
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false")
	s.waitS3(t, p.exited, p.out, 90*time.Second)
	s.enableVersioning(t)
	return s
}

// grpcPairs returns n ports p, each free on 127.0.0.1 together with p+10000,
// where SeaweedFS puts the gRPC port of a service by default.
func grpcPairs(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	taken := map[int]bool{}
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			t.Fatal("s3servers: no free port pairs for SeaweedFS")
		}
		p := 20000 + rand.IntN(20000)
		if taken[p] || taken[p+10000] || !free(p) || !free(p+10000) {
			continue
		}
		taken[p], taken[p+10000] = true, true
		ports = append(ports, p)
	}
	return ports
}

func free(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// seaweedVersion reads the release from `weed version` ("version 30GB
// 4.53  linux amd64": the volume size limit, then the release).
func seaweedVersion(bin string) string {
	b, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(firstLine(b))
	if len(f) >= 3 && f[0] == "version" {
		return f[2]
	}
	return firstLine(b)
}
