package protect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

const taskARN = "arn:aws:ecs:eu-west-1:123456789012:task/cluster/0123456789abcdef"

// fakeAgent is the task protection endpoint of the ECS agent. It checks the
// method, path and content type of every request, records its body decoded
// into a map (so field names are compared exactly, unlike json.Unmarshal
// into a struct), and answers like the agent does unless told otherwise.
type fakeAgent struct {
	t *testing.T

	mu     sync.Mutex
	bodies []map[string]any
	status int    // answer with this status and body instead of success
	answer string // body for status; ignored when status is 0
}

func newFakeAgent(t *testing.T) (*fakeAgent, *httptest.Server) {
	t.Helper()
	a := &fakeAgent{t: t}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

func (a *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || r.URL.Path != "/api/task-1/task-protection/v1/state" || r.URL.RawQuery != "" {
		a.t.Errorf("request %s %s, want PUT /api/task-1/task-protection/v1/state", r.Method, r.URL)
		http.Error(w, "bad request line", http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		a.t.Errorf("Content-Type %q, want application/json", ct)
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		a.t.Errorf("read request body: %v", err)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		a.t.Errorf("request body %q is not a JSON object: %v", raw, err)
		return
	}
	enabled, ok := body["ProtectionEnabled"].(bool)
	if !ok {
		a.t.Errorf("request body %s has no boolean ProtectionEnabled", raw)
	}

	a.mu.Lock()
	a.bodies = append(a.bodies, body)
	status, answer := a.status, a.answer
	a.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		io.WriteString(w, answer)
		return
	}
	fmt.Fprintf(w, `{"protection":{"ExpirationDate":"2026-11-24T10:00:00Z","ProtectionEnabled":%t,"TaskArn":%q}}`,
		enabled, taskARN)
}

// answerWith makes the agent answer status and body from now on; status 0
// restores success.
func (a *fakeAgent) answerWith(status int, body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.answer = status, body
}

// take returns the request bodies received since the last call.
func (a *fakeAgent) take() []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.bodies
	a.bodies = nil
	return b
}

func enableBody(minutes int) map[string]any {
	return map[string]any{"ProtectionEnabled": true, "ExpiresInMinutes": float64(minutes)}
}

var releaseBody = map[string]any{"ProtectionEnabled": false}

func TestClientSet(t *testing.T) {
	tests := []struct {
		name     string
		enabled  bool
		expires  time.Duration
		status   int // 0: the agent succeeds
		answer   string
		wantBody map[string]any
		wantErr  string      // substring of the error; "" for success
		wantAPI  *AgentError // when the error must be an *AgentError
	}{
		{
			name:     "enable",
			enabled:  true,
			expires:  time.Hour,
			wantBody: enableBody(60),
		},
		{
			name:     "enable rounds up to whole minutes",
			enabled:  true,
			expires:  90 * time.Second,
			wantBody: enableBody(2),
		},
		{
			name:     "enable clamps to one minute",
			enabled:  true,
			expires:  time.Millisecond,
			wantBody: enableBody(1),
		},
		{
			name:     "enable clamps to 2880 minutes",
			enabled:  true,
			expires:  100 * time.Hour,
			wantBody: enableBody(2880),
		},
		{
			name:     "enable without expiry leaves the agent default",
			enabled:  true,
			expires:  0,
			wantBody: map[string]any{"ProtectionEnabled": true},
		},
		{
			name:     "release",
			enabled:  false,
			expires:  time.Hour,
			wantBody: releaseBody,
		},
		{
			name:     "400 with error body",
			enabled:  true,
			expires:  time.Hour,
			status:   http.StatusBadRequest,
			answer:   `{"error":{"Arn":"` + taskARN + `","Code":"InvalidParameterException","Message":"expiresInMinutes out of range"}}`,
			wantBody: enableBody(60),
			wantErr:  "protect: cannot enable task protection: ecs agent answered http 400: InvalidParameterException: expiresInMinutes out of range",
			wantAPI:  &AgentError{StatusCode: 400, Code: "InvalidParameterException", Message: "expiresInMinutes out of range"},
		},
		{
			name:     "500 with text body",
			enabled:  false,
			status:   http.StatusInternalServerError,
			answer:   "agent exploded\n",
			wantBody: releaseBody,
			wantErr:  "protect: cannot release task protection: ecs agent answered http 500: agent exploded",
			wantAPI:  &AgentError{StatusCode: 500, Message: "agent exploded"},
		},
		{
			name:     "200 with failure body",
			enabled:  true,
			expires:  time.Hour,
			status:   http.StatusOK,
			answer:   `{"failure":{"Arn":"` + taskARN + `","Reason":"TASK_NOT_VALID","Detail":"task is not part of a service"}}`,
			wantBody: enableBody(60),
			wantErr:  "protect: cannot enable task protection: ecs agent answered http 200: TASK_NOT_VALID: task is not part of a service",
			wantAPI:  &AgentError{StatusCode: 200, Code: "TASK_NOT_VALID", Message: "task is not part of a service"},
		},
		{
			name:     "200 with error body",
			enabled:  false,
			status:   http.StatusOK,
			answer:   `{"requestID":"r-1","error":{"Arn":"` + taskARN + `","Code":"AccessDeniedException","Message":"not authorized to perform ecs:UpdateTaskProtection"}}`,
			wantBody: releaseBody,
			wantErr:  "protect: cannot release task protection: ecs agent answered http 200: AccessDeniedException: not authorized",
			wantAPI:  &AgentError{StatusCode: 200, Code: "AccessDeniedException", Message: "not authorized to perform ecs:UpdateTaskProtection"},
		},
		{
			name:     "200 without protection",
			enabled:  true,
			expires:  time.Hour,
			status:   http.StatusOK,
			answer:   `{}`,
			wantBody: enableBody(60),
			wantErr:  "protect: cannot enable task protection: agent answer has no protection state",
		},
		{
			name:     "200 with the other state",
			enabled:  true,
			expires:  time.Hour,
			status:   http.StatusOK,
			answer:   `{"protection":{"ProtectionEnabled":false,"TaskArn":"` + taskARN + `"}}`,
			wantBody: enableBody(60),
			wantErr:  "protect: cannot enable task protection: agent reports protection enabled false, want true",
		},
		{
			name:     "200 with a body that is not JSON",
			enabled:  true,
			expires:  time.Hour,
			status:   http.StatusOK,
			answer:   `<html>`,
			wantBody: enableBody(60),
			wantErr:  "protect: cannot enable task protection: cannot decode agent answer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent, srv := newFakeAgent(t)
			agent.answerWith(tt.status, tt.answer)
			c := New(srv.URL+"/api/task-1/", srv.Client(), zerolog.Nop())
			if !c.Enabled() {
				t.Fatal("Enabled() = false with an agent URI")
			}

			err := c.Set(t.Context(), tt.enabled, tt.expires)

			if got := agent.take(); !reflect.DeepEqual(got, []map[string]any{tt.wantBody}) {
				t.Errorf("request bodies %v, want [%v]", got, tt.wantBody)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Set: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Set error %v, want one containing %q", err, tt.wantErr)
			}
			var apiErr *AgentError
			if tt.wantAPI == nil {
				if errors.As(err, &apiErr) {
					t.Errorf("error %v is an *AgentError, want another kind", err)
				}
				return
			}
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an *AgentError", err)
			}
			if *apiErr != *tt.wantAPI {
				t.Errorf("AgentError %+v, want %+v", *apiErr, *tt.wantAPI)
			}
		})
	}
}

func TestClientSetContextCanceled(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
		close(arrived)
		select { // hang until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	c := New(srv.URL, srv.Client(), zerolog.Nop())

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	err := c.Set(ctx, true, time.Hour)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Set error %v, want context.Canceled", err)
	}
	if !strings.HasPrefix(err.Error(), "protect: cannot enable task protection: ") {
		t.Errorf("Set error %q does not say what failed", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFromEnv(t *testing.T) {
	agent, srv := newFakeAgent(t)
	tests := []struct {
		name        string
		env         map[string]string
		wantEnabled bool
		wantBodies  []map[string]any
	}{
		{
			name:        "outside ECS",
			env:         map[string]string{"ECS_CONTAINER_METADATA_URI_V4": srv.URL},
			wantEnabled: false,
		},
		{
			name:        "outside ECS with an empty variable",
			env:         map[string]string{EnvAgentURI: ""},
			wantEnabled: false,
		},
		{
			name:        "in ECS",
			env:         map[string]string{EnvAgentURI: srv.URL + "/api/task-1"},
			wantEnabled: true,
			wantBodies:  []map[string]any{enableBody(60), releaseBody, enableBody(60)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := FromEnv(func(k string) string { return tt.env[k] }, zerolog.Nop())
			if got := c.Enabled(); got != tt.wantEnabled {
				t.Fatalf("Enabled() = %t, want %t", got, tt.wantEnabled)
			}
			if !tt.wantEnabled {
				c.http = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					t.Errorf("no-op client sent %s %s", r.Method, r.URL)
					return nil, errors.New("no request expected")
				})}
			}
			if err := c.Set(t.Context(), true, time.Hour); err != nil {
				t.Errorf("Set(true): %v", err)
			}
			if err := c.Set(t.Context(), false, 0); err != nil {
				t.Errorf("Set(false): %v", err)
			}
			k := NewKeeper(c, time.Hour, zerolog.Nop())
			if err := k.Want(t.Context(), true); err != nil {
				t.Errorf("Want(true): %v", err)
			}
			if got := k.Protected(); got != tt.wantEnabled {
				t.Errorf("Protected() = %t, want %t", got, tt.wantEnabled)
			}
			if got := agent.take(); !reflect.DeepEqual(got, tt.wantBodies) {
				t.Errorf("request bodies %v, want %v", got, tt.wantBodies)
			}
		})
	}
}

func TestNewKeeperExpiry(t *testing.T) {
	tests := []struct {
		in, want time.Duration
	}{
		{0, DefaultExpiry},
		{-time.Minute, DefaultExpiry},
		{time.Second, time.Minute},
		{90 * time.Second, 2 * time.Minute},
		{time.Hour, time.Hour},
		{100 * time.Hour, MaxExpiry},
	}
	for _, tt := range tests {
		k := NewKeeper(New("", nil, zerolog.Nop()), tt.in, zerolog.Nop())
		if k.expiry != tt.want {
			t.Errorf("NewKeeper(%v).expiry = %v, want %v", tt.in, k.expiry, tt.want)
		}
	}
}

// step is one Want call of a Keeper test, after moving the clock by advance.
type step struct {
	advance       time.Duration
	fail          bool // the agent answers 500 to this step's request
	want          bool
	wantSent      []map[string]any
	wantErr       bool
	wantProtected bool
}

func TestKeeper(t *testing.T) {
	// Expiry is one hour: a refresh is due once more than 30 minutes passed.
	enable := []map[string]any{enableBody(60)}
	release := []map[string]any{releaseBody}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "enable once",
			steps: []step{
				{want: true, wantSent: enable, wantProtected: true},
				{want: true, wantProtected: true},
				{advance: time.Minute, want: true, wantProtected: true},
			},
		},
		{
			name: "no resend before half the expiry",
			steps: []step{
				{want: true, wantSent: enable, wantProtected: true},
				{advance: 10 * time.Minute, want: true, wantProtected: true},
				{advance: 19 * time.Minute, want: true, wantProtected: true},
				{advance: time.Minute, want: true, wantProtected: true}, // exactly half
			},
		},
		{
			name: "refresh after half the expiry",
			steps: []step{
				{want: true, wantSent: enable, wantProtected: true},
				{advance: 30*time.Minute + time.Second, want: true, wantSent: enable, wantProtected: true},
				{advance: 20 * time.Minute, want: true, wantProtected: true},
				{advance: 11 * time.Minute, want: true, wantSent: enable, wantProtected: true},
			},
		},
		{
			name: "release once",
			steps: []step{
				{want: true, wantSent: enable, wantProtected: true},
				{advance: time.Minute, want: false, wantSent: release},
				{advance: time.Minute, want: false},
				{advance: 2 * time.Hour, want: false},
			},
		},
		{
			name: "first release is sent once in case a previous run left protection on",
			steps: []step{
				{want: false, wantSent: release},
				{want: false},
			},
		},
		{
			name: "enable again after a release",
			steps: []step{
				{want: true, wantSent: enable, wantProtected: true},
				{want: false, wantSent: release},
				{want: true, wantSent: enable, wantProtected: true},
			},
		},
		{
			name: "retry enable after a failure",
			steps: []step{
				{want: true, fail: true, wantSent: enable, wantErr: true},
				{advance: time.Second, want: true, wantSent: enable, wantProtected: true},
				{advance: time.Second, want: true, wantProtected: true},
			},
		},
		{
			name: "retry release after a failure",
			steps: []step{
				{want: true, wantSent: enable, wantProtected: true},
				{want: false, fail: true, wantSent: release, wantErr: true, wantProtected: true},
				{want: false, wantSent: release},
				{want: false},
			},
		},
		{
			name: "failed refreshes are retried until protection expires",
			steps: []step{
				{want: true, wantSent: enable, wantProtected: true},
				{advance: 31 * time.Minute, want: true, fail: true, wantSent: enable, wantErr: true, wantProtected: true},
				{advance: 28 * time.Minute, want: true, fail: true, wantSent: enable, wantErr: true, wantProtected: true},
				{advance: time.Minute, want: true, fail: true, wantSent: enable, wantErr: true}, // expired
				{advance: time.Minute, want: true, wantSent: enable, wantProtected: true},
				{advance: time.Minute, want: true, wantProtected: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent, srv := newFakeAgent(t)
			k := NewKeeper(New(srv.URL+"/api/task-1", srv.Client(), zerolog.Nop()), time.Hour, zerolog.Nop())
			now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
			k.now = func() time.Time { return now }
			if k.Protected() {
				t.Fatal("Protected() = true before any Want")
			}
			for i, s := range tt.steps {
				now = now.Add(s.advance)
				if s.fail {
					agent.answerWith(http.StatusInternalServerError, `{"error":{"Code":"ServerException","Message":"boom"}}`)
				} else {
					agent.answerWith(0, "")
				}

				err := k.Want(t.Context(), s.want)

				if (err != nil) != s.wantErr {
					t.Errorf("step %d: Want(%t) error %v, want error %t", i, s.want, err, s.wantErr)
				}
				if got := agent.take(); !reflect.DeepEqual(got, s.wantSent) {
					t.Errorf("step %d: Want(%t) sent %v, want %v", i, s.want, got, s.wantSent)
				}
				if got := k.Protected(); got != s.wantProtected {
					t.Errorf("step %d: Protected() = %t, want %t", i, got, s.wantProtected)
				}
			}
		})
	}
}
