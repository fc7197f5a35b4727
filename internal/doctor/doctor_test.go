package doctor

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/fakes3"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/probe"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

func status(r Report, check string) Result {
	for _, res := range r.Results {
		if res.Check == check {
			return res
		}
	}
	return Result{}
}

func TestDoctorMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "doctor")
	client := srv.Client(t)
	o := Options{Probe: probe.Options{Bucket: bucket, Prefix: "recordings", Checksum: checksum.CRC32C, SSE: upload.SSES3},
		Verify: upload.VerifyAuto, Root: t.TempDir(), Credentials: srv.Conn().Credentials}
	r := Run(context.Background(), client, o)
	for _, want := range []struct{ check, status string }{
		{"bucket", OK}, {"clock", OK}, {"versioning", OK}, {"sse honoured", OK}, {"full-object crc32c", OK},
		{"wrong checksum refused", OK}, {"verify mode", OK}, {"lifecycle", Warn}, {"probe cleanup", OK},
	} {
		if got := status(r, want.check); got.Status != want.status {
			t.Errorf("%s: %+v, want %s", want.check, got, want.status)
		}
	}
	if !strings.Contains(status(r, "verify mode").Detail, "checksum") {
		t.Errorf("verify mode: %+v", status(r, "verify mode"))
	}
	// MinIO accepts a rule with AbortIncompleteMultipartUpload and drops
	// that action (it expires stale uploads itself): still a warning.
	_, err := client.PutBucketLifecycleConfiguration(context.Background(), &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(bucket),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{ID: aws.String("abort-mpu"), Status: types.ExpirationStatusEnabled,
			Filter: &types.LifecycleRuleFilter{Prefix: aws.String("recordings/")}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(3650)},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	r = Run(context.Background(), client, o)
	if got := status(r, "lifecycle"); got.Status != Warn {
		t.Errorf("lifecycle on MinIO: %+v", got)
	}
	// A store that ignores the encryption header (versitygw's posix
	// backend; here MinIO behind a proxy that drops what it reports).
	u, _ := url.Parse(srv.Endpoint)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error { r.Header.Del("X-Amz-Server-Side-Encryption"); return nil }
	px := httptest.NewServer(rp)
	defer px.Close()
	conn := srv.Conn()
	conn.Endpoint = px.URL
	plain, err := s3conn.New(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if got := status(Run(context.Background(), plain, o), "sse honoured"); got.Status != Fail {
		t.Errorf("sse ignored: %+v", got)
	}
	o.SSEMismatchWarn = true
	if got := status(Run(context.Background(), plain, o), "sse honoured"); got.Status != Warn {
		t.Errorf("sse ignored, accepted by --sse-mismatch warn: %+v", got)
	}
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil || !strings.Contains(b.String(), "verify mode") {
		t.Errorf("table: %v\n%s", err, b.String())
	}
}

// TestDoctorGofakes3: a store that verifies nothing: auto is honest about
// reading back, a configured checksum mode fails, and a missing bucket
// stops at the bucket line.
func TestDoctorGofakes3(t *testing.T) {
	srv, err := fakes3.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.CreateBucket("rec"); err != nil {
		t.Fatal(err)
	}
	client, err := s3conn.New(context.Background(), srv.Conn())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bucket, verify, sse string
		check, status, worst      string
	}{
		{"auto reads back", "rec", upload.VerifyAuto, upload.SSENone, "verify mode", Warn, Warn},
		{"checksum cannot work", "rec", upload.VerifyChecksum, upload.SSENone, "verify mode", Fail, Fail},
		{"no bucket", "absent", upload.VerifyAuto, upload.SSENone, "bucket", Fail, Fail},
	}
	for _, tt := range tests {
		r := Run(context.Background(), client, Options{Probe: probe.Options{Bucket: tt.bucket, Prefix: "recordings", Checksum: checksum.CRC32C, SSE: tt.sse}, Verify: tt.verify})
		if got := status(r, tt.check); got.Status != tt.status || r.Worst != tt.worst {
			t.Errorf("%s: %s %+v (worst %s), want %s (worst %s)", tt.name, tt.check, got, r.Worst, tt.status, tt.worst)
		}
	}
}

func TestAbortRule(t *testing.T) {
	abort := &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)}
	rule := func(id string, st types.ExpirationStatus, f *types.LifecycleRuleFilter, a *types.AbortIncompleteMultipartUpload) types.LifecycleRule {
		return types.LifecycleRule{ID: aws.String(id), Status: st, Filter: f, AbortIncompleteMultipartUpload: a}
	}
	tests := []struct {
		name   string
		rules  []types.LifecycleRule
		prefix string
		want   string
	}{
		{"whole bucket", []types.LifecycleRule{rule("all", types.ExpirationStatusEnabled, &types.LifecycleRuleFilter{Prefix: aws.String("")}, abort)}, "recordings", "all"},
		{"no filter", []types.LifecycleRule{rule("nofilter", types.ExpirationStatusEnabled, nil, abort)}, "recordings", "nofilter"},
		{"our prefix", []types.LifecycleRule{rule("rec", types.ExpirationStatusEnabled, &types.LifecycleRuleFilter{Prefix: aws.String("recordings/")}, abort)}, "recordings", "rec"},
		{"and filter", []types.LifecycleRule{rule("and", types.ExpirationStatusEnabled, &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{Prefix: aws.String("rec")}}, abort)}, "recordings", "and"},
		{"another prefix", []types.LifecycleRule{rule("logs", types.ExpirationStatusEnabled, &types.LifecycleRuleFilter{Prefix: aws.String("logs/")}, abort)}, "recordings", ""},
		{"a longer prefix", []types.LifecycleRule{rule("deeper", types.ExpirationStatusEnabled, &types.LifecycleRuleFilter{Prefix: aws.String("recordings/2026/")}, abort)}, "recordings", ""},
		{"disabled", []types.LifecycleRule{rule("off", types.ExpirationStatusDisabled, nil, abort)}, "recordings", ""},
		{"no abort action", []types.LifecycleRule{rule("exp", types.ExpirationStatusEnabled, nil, nil)}, "recordings", ""},
	}
	for _, tt := range tests {
		id, _, ok := abortRule(tt.rules, tt.prefix)
		if ok != (tt.want != "") || id != tt.want {
			t.Errorf("%s: %q %v, want %q", tt.name, id, ok, tt.want)
		}
	}
}
