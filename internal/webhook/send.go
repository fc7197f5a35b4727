package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/secrets"
	"github.com/jitsi-recorder/jibri-s3/internal/version"
)

// Endpoint is one configured receiver. Its URL may carry a token (in the
// path or query): it is never logged; Name and ID are.
type Endpoint struct {
	url *url.URL
}

// ParseEndpoint checks that s is an absolute http or https URL.
func ParseEndpoint(s string) (Endpoint, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Endpoint{}, fmt.Errorf("webhook: %q is not an http(s) URL", redactURL(s))
	}
	return Endpoint{url: u}, nil
}

// ID is a short, stable name of the endpoint for the outbox and logs (a
// hash of the URL, which may hold a token).
func (e Endpoint) ID() string {
	h := sha256.Sum256([]byte(e.url.String()))
	return "wh_" + hex.EncodeToString(h[:6])
}

// Name is the scheme and host, for logs.
func (e Endpoint) Name() string { return e.url.Scheme + "://" + e.url.Host }

// String is Name: the path and query stay out of every log line.
func (e Endpoint) String() string { return e.Name() }

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + "/..."
	}
	return "[unparsable]"
}

// Outcome classifies one attempt.
type Outcome int

// Outcomes of an attempt.
const (
	Retry     Outcome = iota // try again later
	Delivered                // 2xx
	Gone                     // 410: stop sending this event to this endpoint
)

// Result is what one attempt did.
type Result struct {
	Outcome Outcome
	Status  int           // HTTP status, 0 without an answer
	Err     error         // why it must be retried
	After   time.Duration // the receiver's Retry-After, if any
}

// Client sends deliveries.
type Client struct {
	HTTP    *http.Client // its Timeout bounds each attempt
	Secret  secrets.Value
	Now     func() time.Time
	Agent   string
	MaxBody int64 // of the answer read (to reuse the connection); 64 KiB by default
}

// NewClient returns a client whose attempts last at most timeout and
// which follows no redirect (a 3xx is retried, not chased with the body).
func NewClient(secret secrets.Value, timeout time.Duration) *Client {
	return &Client{
		HTTP: &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		Secret: secret, Now: time.Now, Agent: "jibri-s3/" + version.Version,
	}
}

// Send POSTs body to ep once.
func (c *Client) Send(ctx context.Context, ep Endpoint, id, typ string, body []byte, attempt int) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url.String(), bytes.NewReader(body))
	if err != nil {
		return Result{Err: fmt.Errorf("webhook: cannot build the request to %s: %w", ep.Name(), err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.Agent)
	req.Header.Set(HeaderEventID, id)
	req.Header.Set(HeaderEventType, typ)
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	req.Header.Set(HeaderSignature, Sign([]byte(c.Secret.Reveal()), c.Now(), body))
	resp, err := c.HTTP.Do(req)
	if err != nil {
		// The url.Error would print the whole URL: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Result{Err: fmt.Errorf("webhook: %s: %w", ep.Name(), err)}
	}
	defer resp.Body.Close()
	limit := c.MaxBody
	if limit <= 0 {
		limit = 64 << 10
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, limit))
	r := Result{Status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		r.Outcome = Delivered
	case resp.StatusCode == http.StatusGone:
		r.Outcome = Gone
	default:
		r.Err = fmt.Errorf("webhook: %s answered %s", ep.Name(), resp.Status)
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			r.After = time.Duration(s) * time.Second
		}
	}
	return r
}
