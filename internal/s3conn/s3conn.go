package s3conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Options describe how to reach S3.
type Options struct {
	Region      string
	Endpoint    string // "" for AWS; e.g. http://127.0.0.1:9000 for MinIO
	PathStyle   bool
	CABundle    string // PEM file whose certificates are the only ones trusted for the endpoint (not the system roots)
	MaxAttempts int    // SDK attempts per request (transport-level retries)
	Connections int    // idle connections kept per host
	// IOTimeout is a stall timeout: a connection on which no byte moves in
	// either direction for this long (a peer that stops reading a part body
	// or stops answering) fails its request with an error matching
	// ErrStalled, which the SDK retryer repeats. A slow link that keeps
	// moving is never cut. 0 means 60 s.
	IOTimeout time.Duration
	// Credentials overrides the default chain (tests and the demo only).
	Credentials aws.CredentialsProvider
}

// New returns an S3 client.
func New(ctx context.Context, o Options) (*s3.Client, error) {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Connections <= 0 {
		o.Connections = 16
	}
	if o.IOTimeout <= 0 {
		o.IOTimeout = 60 * time.Second
	}
	var tlsErr error
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = 10 * time.Second
			d.KeepAlive = 30 * time.Second
		}).
		WithTransportOptions(func(t *http.Transport) {
			dial := t.DialContext
			if dial == nil {
				dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
			}
			t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dial(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return newStallConn(c, o.IOTimeout), nil
			}
			// S3 speaks HTTP/1.1; one connection per part in flight is both
			// faster and fairer than multiplexing parts over one HTTP/2 stream.
			t.ForceAttemptHTTP2 = false
			t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			t.MaxIdleConns = o.Connections * 2
			t.MaxIdleConnsPerHost = o.Connections
			t.WriteBufferSize = 256 << 10
			t.ReadBufferSize = 64 << 10
			t.ResponseHeaderTimeout = 2 * time.Minute
			t.TLSHandshakeTimeout = 10 * time.Second
			if o.CABundle != "" {
				pool, err := loadCABundle(o.CABundle)
				if err != nil {
					tlsErr = err
					return
				}
				if t.TLSClientConfig == nil {
					t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
				}
				t.TLSClientConfig.RootCAs = pool
			}
		})
	// The transport options run lazily; build once to surface CA errors now.
	_ = httpClient.GetTransport()
	if tlsErr != nil {
		return nil, tlsErr
	}

	loaders := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = o.MaxAttempts
				so.MaxBackoff = 5 * time.Second
				so.RateLimiter = ratelimit.None
			})
		}),
	}
	if o.Region != "" {
		loaders = append(loaders, config.WithRegion(o.Region))
	}
	if o.Credentials != nil {
		loaders = append(loaders, config.WithCredentialsProvider(o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return nil, fmt.Errorf("s3conn: cannot load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
	}), nil
}

// loadCABundle returns a pool holding only the bundle's certificates: a
// private endpoint (MinIO, Ceph) is trusted through its own CA and nothing
// else, as the aws CLI's --ca-bundle does. It also keeps the parse of every
// system root (30-60 ms of CPU) off the path to finalize's first byte.
func loadCABundle(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("s3conn: cannot read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("s3conn: no certificates in CA bundle %s", path)
	}
	return pool, nil
}
