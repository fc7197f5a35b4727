package jvbstats

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

const (
	// DefaultStatsURL and DefaultShutdownURL are the endpoints on the
	// bridge's private HTTP server, on the same host or network namespace.
	DefaultStatsURL    = "http://127.0.0.1:8080/colibri/stats"
	DefaultShutdownURL = "http://127.0.0.1:8080/colibri/shutdown"

	maxBody      = 1 << 20 // a stats document is a few KB
	maxBodyInErr = 200
	httpTimeout  = 5 * time.Second
)

// ErrNoStats means the stats document lacks the conference count, e.g. an
// empty object from a bridge whose statistics are not running yet.
var ErrNoStats = errors.New("jvbstats: stats document has no conference count")

// Stats is what the watcher needs from a stats document.
type Stats struct {
	Conferences      int  // conferences hosted now
	Participants     int  // endpoints in them now (0 when the bridge does not report it)
	GracefulShutdown bool // the bridge is in graceful shutdown
}

// Parse decodes a /colibri/stats document. conferences is required, must be
// a whole number >= 0; participants is optional with the same rule;
// graceful_shutdown is optional.
func Parse(r io.Reader) (Stats, error) {
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return Stats{}, fmt.Errorf("jvbstats: stats document is not a JSON object: %w", err)
	}
	raw, ok := doc["conferences"]
	if !ok {
		return Stats{}, ErrNoStats
	}
	var s Stats
	var err error
	if s.Conferences, err = count(raw, "conferences"); err != nil {
		return Stats{}, err
	}
	if raw, ok := doc["participants"]; ok {
		if s.Participants, err = count(raw, "participants"); err != nil {
			return Stats{}, err
		}
	}
	if raw, ok := doc["graceful_shutdown"]; ok {
		if err := json.Unmarshal(raw, &s.GracefulShutdown); err != nil {
			return Stats{}, fmt.Errorf("jvbstats: graceful_shutdown is not a boolean: %s", snippet(raw))
		}
	}
	return s, nil
}

// count decodes a non-negative whole number (JVB writes integers; a float
// with no fraction is accepted).
func count(raw json.RawMessage, key string) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return 0, fmt.Errorf("jvbstats: %s is not a number: %s", key, snippet(raw))
	}
	n, ok := v.(json.Number) // a JSON string holding digits is not a count
	if !ok {
		return 0, fmt.Errorf("jvbstats: %s is not a number: %s", key, snippet(raw))
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
		return 0, fmt.Errorf("jvbstats: %s is not a count: %s", key, n)
	}
	return int(f), nil
}

// Client talks to one bridge.
type Client struct {
	statsURL    string
	shutdownURL string
	http        *http.Client
}

// New returns a client for the given endpoints. A nil httpClient means a
// private client with a 5-second timeout.
func New(statsURL, shutdownURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: httpTimeout}
	}
	return &Client{statsURL: statsURL, shutdownURL: shutdownURL, http: httpClient}
}

// Fetch reads the bridge's current statistics. Any failure (no answer, a
// status other than 200, a document without a conference count) is an
// error: it never reports an idle bridge it has not seen.
func (c *Client) Fetch(ctx context.Context) (Stats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.statsURL, nil)
	if err != nil {
		return Stats{}, fmt.Errorf("jvbstats: cannot build stats request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return Stats{}, fmt.Errorf("jvbstats: cannot read stats: %w", err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxBody)
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(body)
		return Stats{}, fmt.Errorf("jvbstats: stats answered http %d: %s", resp.StatusCode, snippet(raw))
	}
	s, err := Parse(body)
	if err != nil {
		return Stats{}, fmt.Errorf("jvbstats: stats from %s: %w", c.statsURL, err)
	}
	return s, nil
}

// Shutdown asks the bridge to shut down: gracefully (no new conferences,
// exit after the last one) or at once. It returns nil only on a 200 answer.
// Without a shutdown URL it is an error.
func (c *Client) Shutdown(ctx context.Context, graceful bool) error {
	if c.shutdownURL == "" {
		return errors.New("jvbstats: no shutdown URL configured")
	}
	payload, err := json.Marshal(map[string]bool{"graceful-shutdown": graceful})
	if err != nil {
		return fmt.Errorf("jvbstats: cannot encode shutdown request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.shutdownURL, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("jvbstats: cannot build shutdown request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("jvbstats: cannot request shutdown: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jvbstats: shutdown answered http %d: %s", resp.StatusCode, snippet(raw))
	}
	return nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > maxBodyInErr {
		s = s[:maxBodyInErr] + "..."
	}
	return s
}
