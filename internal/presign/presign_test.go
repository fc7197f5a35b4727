package presign

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/event"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
)

func TestExpiry(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		asked time.Duration
		creds aws.Credentials
		want  time.Duration
	}{
		{"static credentials: as asked", 24 * time.Hour, aws.Credentials{}, 24 * time.Hour},
		{"task role expiring sooner", 24 * time.Hour, aws.Credentials{CanExpire: true, Expires: now.Add(47 * time.Minute)}, 47 * time.Minute},
		{"task role expiring later", time.Hour, aws.Credentials{CanExpire: true, Expires: now.Add(6 * time.Hour)}, time.Hour},
		{"capped at 7 days", 30 * 24 * time.Hour, aws.Credentials{}, 7 * 24 * time.Hour},
		{"expired", time.Hour, aws.Credentials{CanExpire: true, Expires: now.Add(-time.Minute)}, 0},
		{"whole seconds", time.Hour, aws.Credentials{CanExpire: true, Expires: now.Add(90*time.Second + 700*time.Millisecond)}, 90 * time.Second},
	}
	for _, tc := range tests {
		if got := Expiry(tc.asked, tc.creds, now); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// expiring hands out valid credentials that say they expire at exp, as a
// task role's do.
type expiring struct {
	aws.Credentials
	exp time.Time
}

func (e expiring) Retrieve(context.Context) (aws.Credentials, error) {
	c := e.Credentials
	c.CanExpire, c.Expires = true, e.exp
	return c, nil
}

// TestLinkMinIO: the link works, for the version asked, and states the
// credentials' expiry, not the longer one asked for.
func TestLinkMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	client := srv.Client(t)
	bucket := srv.Bucket(t, "presign")
	ctx := context.Background()
	put := func(body string) string {
		out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/a.mp4"), Body: bytes.NewReader([]byte(body))})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VersionId)
	}
	v1 := put("first version")
	put("second version")
	base, err := client.Options().Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(10 * time.Minute)
	p := New(client, expiring{Credentials: base, exp: exp})
	lk, err := p.Link(ctx, bucket, "rec/a.mp4", v1, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(lk.URL)
	if err != nil {
		t.Fatal(err)
	}
	secs, _ := strconv.Atoi(u.Query().Get("X-Amz-Expires"))
	if secs < 590 || secs > 600 || lk.ExpiresAt.After(exp) || exp.Sub(lk.ExpiresAt) > 10*time.Second {
		t.Fatalf("X-Amz-Expires %d, expires_at %s, credentials expire %s", secs, lk.ExpiresAt, exp)
	}
	resp, err := http.Get(lk.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "first version" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}

	short := New(client, expiring{Credentials: base, exp: time.Now().Add(20 * time.Second)})
	if _, err := short.Link(ctx, bucket, "rec/a.mp4", v1, time.Hour); !errors.Is(err, ErrShortLived) {
		t.Fatalf("credentials about to expire: %v", err)
	}

	e := &event.Event{Bucket: bucket, Objects: []event.Object{{Key: "rec/a.mp4", VersionID: v1}}}
	if err := (Linker{P: p, Expiry: time.Hour}).AddLinks(ctx, e); err != nil || e.Objects[0].Link == nil {
		t.Fatalf("%v %+v", err, e.Objects[0])
	}
}
