package jibristatus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Busy statuses Jibri reports.
const (
	Idle    = "IDLE"
	Busy    = "BUSY"
	Expired = "EXPIRED"
)

// maxBody bounds what Parse reads.
const maxBody = 64 << 10

// Status is what the health API reports.
type Status struct {
	BusyStatus string // Idle, Busy or Expired
	Healthy    bool
}

// IsIdle reports whether Jibri can take a recording now.
func (s Status) IsIdle() bool { return s.BusyStatus == Idle && s.Healthy }

// IsBusy reports whether Jibri is recording (or streaming).
func (s Status) IsBusy() bool { return s.BusyStatus == Busy }

// ErrBadAnswer reports an answer that is not Jibri's health document.
var ErrBadAnswer = errors.New("jibristatus: not a jibri health answer")

// Parse decodes the health API's answer.
func Parse(b []byte) (Status, error) {
	var doc struct {
		Status *struct {
			BusyStatus string `json:"busyStatus"`
			Health     *struct {
				HealthStatus string `json:"healthStatus"`
			} `json:"health"`
		} `json:"status"`
	}
	if len(b) > maxBody {
		return Status{}, fmt.Errorf("%w: %d bytes", ErrBadAnswer, len(b))
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return Status{}, fmt.Errorf("%w: %v", ErrBadAnswer, err)
	}
	if doc.Status == nil || doc.Status.Health == nil {
		return Status{}, fmt.Errorf("%w: no status or health", ErrBadAnswer)
	}
	switch doc.Status.BusyStatus {
	case Idle, Busy, Expired:
	default:
		return Status{}, fmt.Errorf("%w: busy status %q", ErrBadAnswer, doc.Status.BusyStatus)
	}
	return Status{BusyStatus: doc.Status.BusyStatus, Healthy: doc.Status.Health.HealthStatus == "HEALTHY"}, nil
}

// Client asks one Jibri.
type Client struct {
	url  string
	http *http.Client
}

// New returns a client for the health URL (for example
// http://127.0.0.1:2222/jibri/api/v1.0/health). A nil httpClient means one
// with a 5-second timeout.
func New(url string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 5 * time.Second}
	}
	return &Client{url: url, http: httpClient}
}

// Get asks Jibri for its status. An error means the status is unknown
// (Jibri starting, stopped or hung), not that it is idle.
func (c *Client) Get(ctx context.Context) (Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return Status{}, fmt.Errorf("jibristatus: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Status{}, fmt.Errorf("jibristatus: cannot ask jibri: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Status{}, fmt.Errorf("jibristatus: cannot read jibri's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Status{}, fmt.Errorf("jibristatus: jibri answered http %d", resp.StatusCode)
	}
	return Parse(b)
}
