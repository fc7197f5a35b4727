package s3servers

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Every store present starts with its bucket, stores an object and returns
// it, and reports a version.
func TestStart(t *testing.T) {
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			s := k.Start(t)
			if s.Version == "" || s.Version == "unknown" {
				t.Errorf("%s: no version found", k.Name)
			}
			ctx := context.Background()
			c := s.Client(t)
			body := []byte("s3servers " + k.Name)
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String("probe/a"), Body: bytes.NewReader(body)}); err != nil {
				t.Fatalf("%s: put: %v", k.Name, err)
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String("probe/a")})
			if err != nil {
				t.Fatalf("%s: get: %v", k.Name, err)
			}
			defer out.Body.Close()
			got, err := io.ReadAll(out.Body)
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("%s: got %q, %v; want %q", k.Name, got, err, body)
			}
			t.Logf("%s %s at %s (versioning: %s)", k.Name, s.Version, s.Endpoint, orOK(s.Versioning))
		})
	}
}

func orOK(s string) string {
	if s == "" {
		return "enabled"
	}
	return s
}
