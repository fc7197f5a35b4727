package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantErr  string
	}{
		{name: "help", args: []string{"--help"}, wantCode: exitOK, wantErr: "Exit codes:"},
		{name: "unknown flag", args: []string{"--nope"}, wantCode: exitUsage},
		{name: "stray argument", args: []string{"extra"}, wantCode: exitUsage, wantErr: `unexpected argument "extra"`},
		{name: "bad env duration", env: map[string]string{"CONFWATCH_DRAIN_TIMEOUT": "soon"}, wantCode: exitUsage, wantErr: "CONFWATCH_DRAIN_TIMEOUT"},
		{name: "bad interval", args: []string{"--interval", "0s"}, wantCode: exitUsage, wantErr: "interval must be positive"},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantCode: exitUsage, wantErr: "log format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr, env(tt.env))
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("stderr %q does not contain %q", stderr.String(), tt.wantErr)
			}
			if stdout.Len() != 0 {
				t.Fatalf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &stdout, &stderr, env(nil)); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(stdout.String(), "confwatch ") {
		t.Fatalf("stdout %q", stdout.String())
	}
}

// The whole program against a bridge and an ECS agent: configured from the
// environment, it protects the task during a conference, writes EMF on
// stdout, and on cancel requests the graceful shutdown and exits 0 once the
// bridge is empty.
func TestRunAgainstBridgeAndAgent(t *testing.T) {
	var conferences, shutdowns, protects atomic.Int32
	conferences.Store(1)
	bridge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/colibri/stats":
			fmt.Fprintf(w, `{"conferences":%d,"participants":3}`, conferences.Load())
		case "/colibri/shutdown":
			shutdowns.Add(1)
			conferences.Store(0) // the last meeting ends during the drain
		default:
			http.NotFound(w, r)
		}
	}))
	defer bridge.Close()
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ProtectionEnabled bool }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.ProtectionEnabled {
			protects.Add(1)
		}
		fmt.Fprintf(w, `{"protection":{"ProtectionEnabled":%t}}`, body.ProtectionEnabled)
	}))
	defer agent.Close()

	vars := map[string]string{
		"ECS_AGENT_URI":           agent.URL,
		"CONFWATCH_STATS_URL":     bridge.URL + "/colibri/stats",
		"CONFWATCH_SHUTDOWN_URL":  bridge.URL + "/colibri/shutdown",
		"CONFWATCH_INTERVAL":      "5ms",
		"CONFWATCH_ENVIRONMENT":   "prod",
		"CONFWATCH_LOG_FORMAT":    "json",
		"CONFWATCH_DRAIN_TIMEOUT": "5s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, nil, &stdout, &stderr, env(vars)) }()

	deadline := time.Now().Add(5 * time.Second)
	for protects.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no protection request within 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d; stderr: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
	if shutdowns.Load() != 1 {
		t.Fatalf("%d shutdown requests, want 1", shutdowns.Load())
	}
	line, _, _ := strings.Cut(stdout.String(), "\n")
	var doc map[string]any
	if err := json.Unmarshal([]byte(line), &doc); err != nil {
		t.Fatalf("stdout %q is not EMF JSON lines: %v", stdout.String(), err)
	}
	if doc["Conferences"] != float64(1) || doc["Environment"] != "prod" {
		t.Fatalf("EMF document %v, want Conferences 1 in prod", doc)
	}
}
