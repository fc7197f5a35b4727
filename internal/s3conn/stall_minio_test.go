package s3conn_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/throttle"
)

// slowLink is a MinIO behind a throttling proxy, a client through the proxy
// built by s3conn.New with the given io timeout, and a multipart upload to
// put a part into.
type slowLink struct {
	proxy    *throttle.Proxy
	slow     *s3.Client
	direct   *s3.Client
	bucket   string
	key      string
	uploadID *string
}

func newSlowLink(t *testing.T, tls bool, rate int64, timeout time.Duration, maxAttempts int) *slowLink {
	t.Helper()
	srv := miniotest.Start(t, miniotest.Options{TLS: tls})
	scheme, target, _ := strings.Cut(srv.Endpoint, "://")
	l := &slowLink{bucket: srv.Bucket(t, "slow"), key: "part.bin", direct: srv.Client(t)}
	p, err := throttle.Start(context.Background(), throttle.Options{
		Target: target, Rate: rate, SocketBuffer: 64 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	l.proxy = p
	o := srv.Conn()
	o.Endpoint = scheme + "://" + p.Addr()
	o.IOTimeout = timeout
	o.MaxAttempts = maxAttempts
	if l.slow, err = s3conn.New(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	out, err := l.direct.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: &l.bucket, Key: &l.key})
	if err != nil {
		t.Fatal(err)
	}
	l.uploadID = out.UploadId
	return l
}

// uploadPart sends part 1 through the proxy and reports the SDK attempts.
func (l *slowLink) uploadPart(ctx context.Context, body []byte) (int, error) {
	var attempts atomic.Int32
	count := func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("countAttempts",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				attempts.Add(1)
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
	_, err := l.slow.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &l.bucket, Key: &l.key, UploadId: l.uploadID, PartNumber: aws.Int32(1), Body: bytes.NewReader(body),
	}, func(o *s3.Options) { o.APIOptions = append(o.APIOptions, count) })
	return int(attempts.Load()), err
}

func randomPart(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// A steady slow link must not be cut: a part that takes several io timeouts
// to send goes through on its first attempt (on a 64 KiB-buffered link at
// 1.5 MiB/s a 6 MiB part takes about 4 s, four times the timeout).
// Over TLS the SDK streams an aws-chunked body with a trailing checksum;
// over plain HTTP it sends a signed, seekable payload.
func TestSlowSteadyLinkIsNotAStall(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tls], func(t *testing.T) { testSlowSteadyLink(t, tls) })
	}
}

func testSlowSteadyLink(t *testing.T, tls bool) {
	const timeout = time.Second
	l := newSlowLink(t, tls, 1536<<10, timeout, 0)
	part := randomPart(t, 6<<20)
	began := time.Now()
	attempts, err := l.uploadPart(context.Background(), part)
	took := time.Since(began)
	if err != nil {
		t.Fatalf("upload part over a slow steady link (attempts %d, %v): %v", attempts, took, err)
	}
	t.Logf("6 MiB in %v, %d attempt(s)", took, attempts)
	if attempts != 1 {
		t.Errorf("the part took %d attempts, want 1", attempts)
	}
	if took < 3*timeout {
		t.Fatalf("the part took only %v: the link is not slow enough to prove anything", took)
	}
	if st := l.proxy.Stats(); st.Connections != 1 || st.Upstream < int64(len(part)) {
		t.Errorf("proxy stats %+v: want one connection carrying the part once", st)
	}
	_, err = l.direct.CompleteMultipartUpload(context.Background(), &s3.CompleteMultipartUploadInput{
		Bucket: &l.bucket, Key: &l.key, UploadId: l.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: l.etag(t)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	head, err := l.direct.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &l.bucket, Key: &l.key})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != int64(len(part)) {
		t.Errorf("object size %d, want %d", aws.ToInt64(head.ContentLength), len(part))
	}
}

func (l *slowLink) etag(t *testing.T) *string {
	t.Helper()
	out, err := l.direct.ListParts(context.Background(), &s3.ListPartsInput{Bucket: &l.bucket, Key: &l.key, UploadId: l.uploadID})
	if err != nil || len(out.Parts) != 1 {
		t.Fatalf("list parts: %d parts, %v", len(out.Parts), err)
	}
	return out.Parts[0].ETag
}

// A link that stops forwarding is detected within about the timeout, and
// reported as a stall that the SDK retryer retries.
func TestStalledLinkIsReportedAsAStall(t *testing.T) {
	const timeout = time.Second
	l := newSlowLink(t, false, 1<<20, timeout, 1)
	part := randomPart(t, 8<<20)
	type result struct {
		attempts int
		err      error
		at       time.Time
	}
	done := make(chan result, 1)
	go func() {
		n, err := l.uploadPart(context.Background(), part)
		done <- result{n, err, time.Now()}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for l.proxy.Stats().Upstream < 1<<20 {
		if time.Now().After(deadline) {
			t.Fatal("the upload did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.proxy.Pause()
	paused := time.Now()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * timeout):
		t.Fatal("a stalled upload was not detected")
	}
	if r.err == nil {
		t.Fatal("the part was uploaded through a paused proxy")
	}
	t.Logf("stall reported %v after the pause: %v", r.at.Sub(paused), r.err)
	// A stall is reported one to three timeouts after the last byte moved
	// (see stallConn), and the client still fills the kernel's buffers after
	// the pause.
	if after := r.at.Sub(paused); after > 3*timeout+time.Second {
		t.Errorf("the stall was reported %v after the link stopped, want at most about %v", after, 3*timeout)
	}
	if !errors.Is(r.err, s3conn.ErrStalled) {
		t.Errorf("the error is not ErrStalled: %v", r.err)
	}
	if want := "s3conn: no progress for 1s (stalled connection"; !strings.Contains(r.err.Error(), want) {
		t.Errorf("the error %q does not say %q", r.err, want)
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(r.err) != aws.TrueTernary {
		t.Errorf("the SDK retryer would not retry a stall: %v", r.err)
	}
}
