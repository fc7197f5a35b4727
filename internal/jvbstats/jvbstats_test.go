package jvbstats

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    Stats
		wantErr error // nil: no error; errAny: some error
	}{
		{name: "busy bridge", doc: `{"conferences":3,"participants":17,"graceful_shutdown":false,"threads":120}`, want: Stats{Conferences: 3, Participants: 17}},
		{name: "idle bridge", doc: `{"conferences":0,"participants":0}`, want: Stats{}},
		{name: "graceful shutdown", doc: `{"conferences":1,"participants":2,"graceful_shutdown":true}`, want: Stats{Conferences: 1, Participants: 2, GracefulShutdown: true}},
		{name: "no participants key", doc: `{"conferences":2}`, want: Stats{Conferences: 2}},
		{name: "whole float", doc: `{"conferences":2.0,"participants":5e0}`, want: Stats{Conferences: 2, Participants: 5}},
		{name: "empty object is not idle", doc: `{}`, wantErr: ErrNoStats},
		{name: "conferences as string", doc: `{"conferences":"3"}`, wantErr: errAny},
		{name: "negative", doc: `{"conferences":-1}`, wantErr: errAny},
		{name: "fraction", doc: `{"conferences":1.5}`, wantErr: errAny},
		{name: "null conferences", doc: `{"conferences":null}`, wantErr: errAny},
		{name: "bad participants", doc: `{"conferences":1,"participants":true}`, wantErr: errAny},
		{name: "bad graceful_shutdown", doc: `{"conferences":1,"graceful_shutdown":"yes"}`, wantErr: errAny},
		{name: "array", doc: `[1,2]`, wantErr: errAny},
		{name: "not json", doc: `<html>`, wantErr: errAny},
		{name: "huge", doc: `{"conferences":1e300}`, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.doc))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.wantErr == errAny && err == nil:
				t.Fatalf("Parse = %+v, want an error", got)
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("Parse error %v, want %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Fatalf("Parse = %+v, want %+v", got, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"conferences":3,"participants":17}`, `{}`, `{"conferences":-1}`, `{"conferences":1.5}`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := Parse(strings.NewReader(doc))
		if err != nil {
			return
		}
		if s.Conferences < 0 || s.Participants < 0 {
			t.Fatalf("Parse(%q) = %+v: negative count", doc, s)
		}
	})
}

// fakeBridge is the bridge's private HTTP server: /colibri/stats and
// /colibri/shutdown, recording what it was sent.
type fakeBridge struct {
	t *testing.T

	mu        sync.Mutex
	status    int
	stats     string
	shutdowns []map[string]any
}

func (b *fakeBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/colibri/stats":
		if b.status != 0 {
			w.WriteHeader(b.status)
		}
		io.WriteString(w, b.stats)
	case r.Method == http.MethodPost && r.URL.Path == "/colibri/shutdown":
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			b.t.Errorf("shutdown Content-Type %q, want application/json", ct)
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			b.t.Errorf("shutdown body: %v", err)
		}
		b.shutdowns = append(b.shutdowns, body)
		if b.status != 0 {
			w.WriteHeader(b.status)
		}
	default:
		b.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

func newBridge(t *testing.T, stats string) (*fakeBridge, *Client) {
	t.Helper()
	b := &fakeBridge{t: t, stats: stats}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return b, New(srv.URL+"/colibri/stats", srv.URL+"/colibri/shutdown", srv.Client())
}

func TestFetch(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		stats   string
		want    Stats
		wantErr bool
	}{
		{name: "ok", stats: `{"conferences":2,"participants":9}`, want: Stats{Conferences: 2, Participants: 9}},
		{name: "server error", status: http.StatusInternalServerError, stats: `{"conferences":0}`, wantErr: true},
		{name: "rest disabled", status: http.StatusNotFound, stats: `not found`, wantErr: true},
		{name: "empty stats", stats: `{}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, c := newBridge(t, tt.stats)
			b.status = tt.status
			got, err := c.Fetch(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Fetch = %+v, %v; want error %t", got, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("Fetch = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFetchNoBridge(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	if _, err := New(url+"/colibri/stats", "", nil).Fetch(context.Background()); err == nil {
		t.Fatal("Fetch from a closed port succeeded")
	}
}

func TestShutdown(t *testing.T) {
	tests := []struct {
		name     string
		graceful bool
		status   int
		wantErr  bool
	}{
		{name: "graceful", graceful: true},
		{name: "force", graceful: false},
		{name: "refused", graceful: true, status: http.StatusServiceUnavailable, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, c := newBridge(t, `{}`)
			b.status = tt.status
			err := c.Shutdown(context.Background(), tt.graceful)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Shutdown: %v, want error %t", err, tt.wantErr)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if len(b.shutdowns) != 1 {
				t.Fatalf("%d shutdown requests, want 1", len(b.shutdowns))
			}
			if got := b.shutdowns[0]; len(got) != 1 || got["graceful-shutdown"] != tt.graceful {
				t.Fatalf("shutdown body %v, want {\"graceful-shutdown\": %t}", got, tt.graceful)
			}
		})
	}
}

func TestShutdownWithoutURL(t *testing.T) {
	if err := New(DefaultStatsURL, "", nil).Shutdown(context.Background(), true); err == nil {
		t.Fatal("Shutdown without a URL succeeded")
	}
}
