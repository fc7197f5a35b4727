package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/fakes3"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

func TestChoose(t *testing.T) {
	y, n, u := Check{Result: Yes}, Check{Result: No, Detail: "no"}, Check{Result: Unknown, Detail: "AccessDenied"}
	tests := []struct {
		name string
		r    Report
		alg  checksum.Algorithm
		want string
		err  bool
	}{
		{"everything", Report{CRC32C: y, CRC64NVME: y, WrongFullObjectRejected: y, ContentMD5Checked: y, MD5ETags: y}, checksum.CRC32C, upload.VerifyChecksum, false},
		{"checksums stored but never checked", Report{CRC32C: y, WrongFullObjectRejected: n, ContentMD5Checked: y, MD5ETags: y}, checksum.CRC32C, upload.VerifyETag, false},
		{"crc64 asked, only crc32c", Report{CRC32C: y, CRC64NVME: n, WrongFullObjectRejected: n, ContentMD5Checked: y, MD5ETags: n}, checksum.CRC64NVME, upload.VerifyReadback, false},
		{"no checksums, md5 etags", Report{CRC32C: n, WrongFullObjectRejected: n, ContentMD5Checked: y, MD5ETags: y}, checksum.CRC32C, upload.VerifyETag, false},
		{"sse-kms etags", Report{CRC32C: n, WrongFullObjectRejected: n, ContentMD5Checked: y, MD5ETags: n}, checksum.CRC32C, upload.VerifyReadback, false},
		{"md5 not checked", Report{CRC32C: n, WrongFullObjectRejected: n, ContentMD5Checked: n, MD5ETags: y}, checksum.CRC32C, upload.VerifyReadback, false},
		{"cannot tell", Report{CRC32C: u, WrongFullObjectRejected: y, ContentMD5Checked: y, MD5ETags: y}, checksum.CRC32C, "", true},
	}
	for _, tt := range tests {
		got, why, err := Choose(tt.r, tt.alg)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("%s: Choose = %q (%s), %v; want %q", tt.name, got, why, err, tt.want)
		}
	}
}

// proxied is a store behind a proxy that drops the named request and
// response headers: a stand-in for a store that ignores them.
func proxied(t *testing.T, endpoint string, drop ...string) string {
	t.Helper()
	u, _ := url.Parse(endpoint)
	rp := httputil.NewSingleHostReverseProxy(u)
	strip := func(h http.Header) {
		for k := range h {
			for _, d := range drop {
				if strings.HasPrefix(strings.ToLower(k), d) {
					h.Del(k)
				}
			}
		}
	}
	director := rp.Director
	rp.Director = func(r *http.Request) {
		director(r)
		strip(r.Header)
	}
	rp.ModifyResponse = func(r *http.Response) error { strip(r.Header); return nil }
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

func remaining(t *testing.T, c *s3.Client, bucket string) []string {
	t.Helper()
	out, err := c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, v := range out.Versions {
		keys = append(keys, aws.ToString(v.Key))
	}
	for _, d := range out.DeleteMarkers {
		keys = append(keys, aws.ToString(d.Key)+" (delete marker)")
	}
	ups, err := c.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups.Uploads {
		keys = append(keys, aws.ToString(u.Key)+" (upload)")
	}
	return keys
}

// TestProbeMinIO: MinIO checks everything, so auto picks the full-object
// checksum, and the probe leaves nothing behind. (A proxy cannot make MinIO
// ignore a header: the headers are signed. Stores that ignore them are
// gofakes3 below and the servers of the compatibility matrix.)
func TestProbeMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	tests := []struct {
		name string
		drop []string
		sse  string
		want string
	}{
		{"minio", nil, upload.SSES3, upload.VerifyChecksum},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := srv.Bucket(t, "probe"+string(rune('a'+i)))
			conn := srv.Conn()
			if tt.drop != nil {
				conn.Endpoint = proxied(t, srv.Endpoint, tt.drop...)
			}
			client, err := s3conn.New(context.Background(), conn)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Run(context.Background(), client, Options{Bucket: bucket, Prefix: "recordings", Checksum: checksum.CRC32C, SSE: tt.sse})
			if err != nil {
				t.Fatalf("probe: %v (%+v)", err, r)
			}
			if r.Mode != tt.want {
				t.Errorf("mode %q (%s), want %q; report %+v", r.Mode, r.Why, tt.want, r)
			}
			if tt.drop == nil {
				for name, c := range map[string]Check{"crc32c": r.CRC32C, "crc64nvme": r.CRC64NVME, "wrong put": r.WrongChecksumRejected,
					"wrong full object": r.WrongFullObjectRejected, "part checksums": r.PartChecksums, "md5": r.ContentMD5Checked, "versioning": r.Versioning, "sse": r.SSE} {
					if !c.OK() {
						t.Errorf("MinIO %s: %+v", name, c)
					}
				}
			} else if r.WrongChecksumRejected.OK() {
				t.Errorf("a store that drops checksum headers was found to check them: %+v", r.WrongChecksumRejected)
			}
			if left := remaining(t, srv.Client(t), bucket); len(left) > 0 || len(r.Leftovers) > 0 {
				t.Errorf("probe left %v (reported %v)", left, r.Leftovers)
			}
		})
	}
}

// TestProbeGofakes3: gofakes3 echoes whatever checksum it is sent and
// verifies none, the store the probe exists for: auto must not pick the
// checksum, and an upload in the mode it picks succeeds.
func TestProbeGofakes3(t *testing.T) {
	srv, err := fakes3.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.CreateBucket("rec"); err != nil {
		t.Fatal(err)
	}
	// gofakes3 checks Content-MD5 but its multipart ETag is the MD5 of the
	// whole object, not of the part MD5s: only reading back is left. It
	// checks no signature, so a proxy can also make it ignore Content-MD5.
	for _, tt := range []struct {
		name     string
		drop     []string
		md5Check bool
	}{
		{"gofakes3", nil, true},
		{"gofakes3 ignoring content-md5", []string{"content-md5"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn := srv.Conn()
			if tt.drop != nil {
				conn.Endpoint = proxied(t, srv.URL, tt.drop...)
			}
			r := testProbeFake(t, conn, upload.VerifyReadback)
			if r.ContentMD5Checked.OK() != tt.md5Check || r.MD5ETags.OK() {
				t.Errorf("Content-MD5 checked %+v, MD5 ETags %+v", r.ContentMD5Checked, r.MD5ETags)
			}
		})
	}
}

func testProbeFake(t *testing.T, conn s3conn.Options, want string) Report {
	client, err := s3conn.New(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Bucket: "rec", Prefix: "recordings", Checksum: checksum.CRC32C}
	cache := Cache{Path: filepath.Join(t.TempDir(), ".finalize-probe.json")}
	probes := 0
	var report Report
	resolve := Resolver(client, o, conn.Endpoint, cache, func(r Report, err error) { probes++; report = r })
	mode, err := resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if mode != want {
		t.Fatalf("mode %q (%s), want %q; %+v", mode, report.Why, want, report)
	}
	if report.WrongChecksumRejected.OK() || report.WrongFullObjectRejected.OK() {
		t.Errorf("gofakes3 verifies nothing, the probe says otherwise: %+v", report)
	}
	if mode2, _ := resolve(context.Background()); mode2 != mode || probes != 1 {
		t.Errorf("second resolve: %q after %d probes, want the cached %q", mode2, probes, mode)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "a.mp4")
	if err := os.WriteFile(p, []byte(strings.Repeat("frame ", 3<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	m := statMedia(t, p)
	u := upload.New(client, upload.Options{Bucket: "rec", PartSize: 5 << 20, Concurrency: 2, Checksum: checksum.CRC32C, Verify: upload.VerifyAuto,
		ResolveVerify: Resolver(client, o, conn.Endpoint, cache, func(Report, error) { probes++ })})
	v, err := u.Upload(context.Background(), m, upload.Object{Key: "recordings/" + strings.ReplaceAll(t.Name(), "/", "-") + ".mp4"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Verification() != mode || probes != 1 {
		t.Errorf("upload verified by %q after %d probes, want %q from the cache", v.Verification(), probes, mode)
	}
	return report
}

func TestCache(t *testing.T) {
	dir := t.TempDir()
	c := Cache{Path: filepath.Join(dir, "probe.json"), TTL: time.Hour}
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	o := Options{Bucket: "b", Checksum: checksum.CRC32C, SSE: upload.SSES3}
	k := Key("https://s3.example", o)
	if _, ok := c.Lookup(k, now); ok {
		t.Fatal("empty cache answered")
	}
	if err := c.Store(k, Report{Time: now, Mode: upload.VerifyETag}, now); err != nil {
		t.Fatal(err)
	}
	if r, ok := c.Lookup(k, now.Add(59*time.Minute)); !ok || r.Mode != upload.VerifyETag {
		t.Errorf("fresh entry: %+v %v", r, ok)
	}
	if _, ok := c.Lookup(k, now.Add(61*time.Minute)); ok {
		t.Error("expired entry answered")
	}
	o2 := o
	o2.Checksum = checksum.CRC64NVME
	if _, ok := c.Lookup(Key("https://s3.example", o2), now); ok {
		t.Error("other settings answered from this entry")
	}
	if err := os.WriteFile(c.Path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Lookup(k, now); ok {
		t.Error("corrupt cache answered")
	}
	if err := c.Store(k, Report{Time: now, Mode: upload.VerifyChecksum}, now); err != nil {
		t.Fatalf("store over a corrupt cache: %v", err)
	}
}

func statMedia(t *testing.T, p string) recording.Media {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return recording.Media{Name: filepath.Base(p), Path: p, Size: fi.Size(), ModTime: fi.ModTime(), Dev: uint64(st.Dev), Ino: st.Ino}
}

// TestMissingBucketStaysPermanent: a probe that fails because the bucket
// does not exist keeps the store's error, so the upload is marked
// permanent (with its hint) instead of being retried as a blip.
func TestMissingBucketStaysPermanent(t *testing.T) {
	srv, err := fakes3.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client, err := s3conn.New(context.Background(), srv.Conn())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), client, Options{Bucket: "absent", Checksum: checksum.CRC32C})
	if err == nil || !upload.IsPermanent(err) {
		t.Fatalf("probe of a missing bucket: %v (permanent %v)", err, upload.IsPermanent(err))
	}
}
