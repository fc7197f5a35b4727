package s3conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/testcert"
)

// selfSigned returns a certificate for 127.0.0.1 and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	c, err := testcert.New(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return c.TLS, c.CertPEM
}

func TestCABundle(t *testing.T) {
	served, servedPEM := selfSigned(t)
	_, otherPEM := selfSigned(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write([]byte(`<ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>`))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{served}}
	srv.StartTLS()
	defer srv.Close()

	dir := t.TempDir()
	cases := []struct {
		name    string
		bundle  []byte
		wantErr bool
	}{
		{"the endpoint's CA is trusted", servedPEM, false},
		{"another CA is not", otherPEM, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".pem")
			if err := os.WriteFile(p, c.bundle, 0o600); err != nil {
				t.Fatal(err)
			}
			cl, err := New(context.Background(), Options{
				Endpoint: srv.URL, PathStyle: true, Region: "us-east-1", CABundle: p, MaxAttempts: 1,
				Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.ListBuckets(context.Background(), &s3.ListBucketsInput{MaxBuckets: aws.Int32(1)})
			var unknown x509.UnknownAuthorityError
			switch {
			case c.wantErr && !errors.As(err, &unknown):
				t.Fatalf("want an unknown-authority error, got %v", err)
			case !c.wantErr && err != nil:
				t.Fatal(err)
			}
		})
	}
	if _, err := New(context.Background(), Options{CABundle: filepath.Join(dir, "missing.pem")}); err == nil {
		t.Error("a missing CA bundle was accepted")
	}
	empty := filepath.Join(dir, "empty.pem")
	os.WriteFile(empty, []byte("not a certificate"), 0o600)
	if _, err := New(context.Background(), Options{CABundle: empty}); err == nil {
		t.Error("a bundle without certificates was accepted")
	}
}
