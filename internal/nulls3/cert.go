package nulls3

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/testcert"
)

// WriteCert creates a self-signed certificate for 127.0.0.1, ::1 and
// localhost, valid for 30 days, writes it (PEM) to certFile and its key to
// keyFile (mode 0600), and returns it ready for a tls.Config. The
// certificate is its own CA, so certFile doubles as the client's CA bundle.
func WriteCert(certFile, keyFile string) (tls.Certificate, error) {
	c, err := testcert.New(30 * 24 * time.Hour)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("nulls3: %w", err)
	}
	if err := c.Write(certFile, keyFile); err != nil {
		return tls.Certificate{}, fmt.Errorf("nulls3: %w", err)
	}
	return c.TLS, nil
}
