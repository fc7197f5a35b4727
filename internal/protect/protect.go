// Package protect sets Amazon ECS task scale-in protection through the ECS
// container agent, so that a service scale-in or deployment never stops a
// task while recordings are still waiting to be uploaded.
//
// The agent serves the endpoint at $ECS_AGENT_URI/task-protection/v1/state:
// a PUT with {"ProtectionEnabled": true, "ExpiresInMinutes": n} protects the
// task for n minutes (1 to 2880; the agent's default is two hours), and a PUT
// with {"ProtectionEnabled": false} releases it. The agent answers 200 with
// {"protection": {...}} on success, and either a 4xx/5xx status or a 200 with
// a "failure" or "error" object when the request was refused.
//
// Client makes one request per call. Keeper turns the daemon's periodic
// "is anything pending?" answer into the fewest requests: enable on the way
// up, refresh before the protection expires, release on the way down. Outside
// ECS (no ECS_AGENT_URI) both are no-ops.
package protect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

const (
	// EnvAgentURI is the environment variable the ECS agent sets in every
	// container of a task.
	EnvAgentURI = "ECS_AGENT_URI"

	// DefaultExpiry is how long the agent protects a task when no expiry is
	// given.
	DefaultExpiry = 2 * time.Hour

	// MaxExpiry is the longest protection the agent accepts.
	MaxExpiry = 2880 * time.Minute

	statePath    = "/task-protection/v1/state"
	maxBody      = 64 << 10 // enough for any agent answer
	maxBodyInErr = 200
	httpTimeout  = 30 * time.Second
)

// Log field names.
const (
	keyEnabled    = "protection_enabled"
	keyExpiresMin = "expires_in_minutes"
	keyExpiration = "expiration"
	keyTaskARN    = "task_arn"
	keyExpiry     = "expiry"
)

// AgentError is a request the ECS agent received and refused, either with an
// HTTP error status or with a "failure" or "error" object in a 200 answer.
// Use errors.As to inspect it.
type AgentError struct {
	StatusCode int    // HTTP status of the answer
	Code       string // error code (AccessDeniedException) or failure reason (TASK_NOT_VALID)
	Message    string // error message, failure detail, or the start of a non-JSON body
}

func (e *AgentError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ecs agent answered http %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Client talks to the task protection endpoint of the ECS agent. A Client
// without an agent URI does nothing; see Enabled.
type Client struct {
	agentURI string
	http     *http.Client
	log      zerolog.Logger
}

// New returns a client for the agent at agentURI (the value of
// ECS_AGENT_URI). A nil httpClient means a private client with a 30-second
// timeout. An empty agentURI gives a client whose methods do nothing.
func New(agentURI string, httpClient *http.Client, log zerolog.Logger) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: httpTimeout}
	}
	return &Client{
		agentURI: strings.TrimRight(agentURI, "/"),
		http:     httpClient,
		log:      log,
	}
}

// FromEnv returns a client for the agent named by ECS_AGENT_URI, as read
// through getenv (os.Getenv in production). Outside ECS the variable is
// unset, and the client is a no-op.
func FromEnv(getenv func(string) string, log zerolog.Logger) *Client {
	uri := getenv(EnvAgentURI)
	if uri == "" {
		log.Debug().Msg("ECS_AGENT_URI is not set; task scale-in protection is off")
	}
	return New(uri, nil, log)
}

// Enabled reports whether an agent URI is configured, that is whether Set
// sends requests at all.
func (c *Client) Enabled() bool {
	return c.agentURI != ""
}

type setRequest struct {
	ProtectionEnabled bool   `json:"ProtectionEnabled"`
	ExpiresInMinutes  *int64 `json:"ExpiresInMinutes,omitempty"`
}

type protectionResponse struct {
	Protection *struct {
		ProtectionEnabled bool
		ExpirationDate    string // kept as text: only logged
		TaskArn           string
	} `json:"protection"`
	Failure *struct {
		Arn    string
		Reason string
		Detail string
	} `json:"failure"`
	Error *struct {
		Arn     string
		Code    string
		Message string
	} `json:"error"`
}

// Set enables (enabled true) or releases (enabled false) scale-in protection
// of the task. When enabling, expires is rounded up to whole minutes and
// clamped to 1..2880 minutes; zero or less leaves the agent's default of two
// hours. expires is ignored when releasing. Set returns nil only when the
// agent confirms the new state; a refusal is an *AgentError. On a no-op
// client Set returns nil without a request.
func (c *Client) Set(ctx context.Context, enabled bool, expires time.Duration) error {
	if !c.Enabled() {
		return nil
	}
	verb := "release"
	req := setRequest{ProtectionEnabled: enabled}
	if enabled {
		verb = "enable"
		if expires > 0 {
			m := expiresMinutes(expires)
			req.ExpiresInMinutes = &m
		}
	}
	if err := c.put(ctx, req); err != nil {
		return fmt.Errorf("protect: cannot %s task protection: %w", verb, err)
	}
	return nil
}

func (c *Client) put(ctx context.Context, body setRequest) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.agentURI+statePath, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("cannot read agent answer: %w", err)
	}

	var ans protectionResponse
	jsonErr := json.Unmarshal(raw, &ans)
	switch {
	case jsonErr == nil && ans.Error != nil:
		return &AgentError{StatusCode: resp.StatusCode, Code: ans.Error.Code, Message: ans.Error.Message}
	case jsonErr == nil && ans.Failure != nil:
		return &AgentError{StatusCode: resp.StatusCode, Code: ans.Failure.Reason, Message: ans.Failure.Detail}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return &AgentError{StatusCode: resp.StatusCode, Message: snippet(raw)}
	case jsonErr != nil:
		return fmt.Errorf("cannot decode agent answer: %w", jsonErr)
	case ans.Protection == nil:
		return fmt.Errorf("agent answer has no protection state: %s", snippet(raw))
	case ans.Protection.ProtectionEnabled != body.ProtectionEnabled:
		return fmt.Errorf("agent reports protection enabled %t, want %t",
			ans.Protection.ProtectionEnabled, body.ProtectionEnabled)
	}

	ev := c.log.Debug().Bool(keyEnabled, body.ProtectionEnabled).Str(keyTaskARN, ans.Protection.TaskArn)
	if body.ExpiresInMinutes != nil {
		ev = ev.Int64(keyExpiresMin, *body.ExpiresInMinutes)
	}
	if ans.Protection.ExpirationDate != "" {
		ev = ev.Str(keyExpiration, ans.Protection.ExpirationDate)
	}
	ev.Msg("task protection set")
	return nil
}

// expiresMinutes is d rounded up to whole minutes within the agent's limits.
func expiresMinutes(d time.Duration) int64 {
	m := int64((d + time.Minute - 1) / time.Minute)
	return min(max(m, 1), int64(MaxExpiry/time.Minute))
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > maxBodyInErr {
		s = s[:maxBodyInErr] + "..."
	}
	return s
}

type keeperState int

const (
	stateUnknown keeperState = iota // nothing confirmed yet
	stateOn
	stateOff
)

// Keeper holds protection in the state the daemon asks for, sending as few
// requests as it can. It starts no goroutines and never sleeps: the daemon
// calls Want on its own schedule (every rescan), and a failed request is
// retried on the next call. Want and Protected are safe for concurrent use.
type Keeper struct {
	c      *Client
	expiry time.Duration
	log    zerolog.Logger
	now    func() time.Time // the clock; tests replace it

	mu      sync.Mutex // serializes Want; guards the fields below
	state   keeperState
	lastSet time.Time // when the last successful enable was sent
}

// NewKeeper returns a keeper that enables protection for expiry at a time.
// expiry zero or less means DefaultExpiry; it is rounded up to whole minutes
// and capped at MaxExpiry, like Client.Set does.
func NewKeeper(c *Client, expiry time.Duration, log zerolog.Logger) *Keeper {
	if expiry <= 0 {
		expiry = DefaultExpiry
	}
	expiry = time.Duration(expiresMinutes(expiry)) * time.Minute
	return &Keeper{c: c, expiry: expiry, log: log, now: time.Now}
}

// Want moves protection towards protect. When protect becomes true it
// enables protection for the keeper's expiry; while it stays true it sends
// the request again once more than half of the expiry has passed since the
// last success, so the protection never lapses while Want keeps being
// called. When protect becomes false it releases protection once. The first
// Want(false) also releases, since a previous run of the daemon in the same
// task may have left protection on. An error leaves the state as it was, so
// the next call tries again. Without an agent Want does nothing.
func (k *Keeper) Want(ctx context.Context, protect bool) error {
	if !k.c.Enabled() {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()

	now := k.now()
	if !protect {
		if k.state == stateOff {
			return nil
		}
		if err := k.c.Set(ctx, false, 0); err != nil {
			return err
		}
		k.state = stateOff
		k.log.Info().Msg("task scale-in protection released")
		return nil
	}

	if k.state == stateOn && now.Sub(k.lastSet) <= k.expiry/2 {
		return nil
	}
	if err := k.c.Set(ctx, true, k.expiry); err != nil {
		return err
	}
	if k.state == stateOn {
		k.log.Debug().Dur(keyExpiry, k.expiry).Msg("task scale-in protection refreshed")
	} else {
		k.log.Info().Dur(keyExpiry, k.expiry).Msg("task scale-in protection enabled")
	}
	// The clock was read before the request, so the agent's expiry ends
	// after lastSet+expiry: refreshing on lastSet errs on the early side.
	k.state = stateOn
	k.lastSet = now
	return nil
}

// Protected reports whether the last state the agent confirmed is
// "protected" and that protection has not expired since. It is false
// outside ECS.
func (k *Keeper) Protected() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.state == stateOn && k.now().Sub(k.lastSet) < k.expiry
}
