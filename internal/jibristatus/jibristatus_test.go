package jibristatus

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestParse(t *testing.T) {
	idle, _ := os.ReadFile("testdata/idle.json")
	busy, _ := os.ReadFile("testdata/busy.json")
	tests := []struct {
		name       string
		body       string
		idle, busy bool
		err        bool
	}{
		{"idle", string(idle), true, false, false},
		{"busy", string(busy), false, true, false},
		{"idle but unhealthy", `{"status":{"busyStatus":"IDLE","health":{"healthStatus":"UNHEALTHY"}}}`, false, false, false},
		{"expired", `{"status":{"busyStatus":"EXPIRED","health":{"healthStatus":"HEALTHY"}}}`, false, false, false},
		{"legacy busy flag", `{"busy":false}`, false, false, true},
		{"unknown status", `{"status":{"busyStatus":"SLEEPY","health":{"healthStatus":"HEALTHY"}}}`, false, false, true},
		{"not json", `<html>`, false, false, true},
	}
	for _, tt := range tests {
		s, err := Parse([]byte(tt.body))
		if (err != nil) != tt.err || s.IsIdle() != tt.idle || s.IsBusy() != tt.busy {
			t.Errorf("%s: %+v %v", tt.name, s, err)
		}
		if err != nil && !errors.Is(err, ErrBadAnswer) {
			t.Errorf("%s: error %v is not ErrBadAnswer", tt.name, err)
		}
	}
}

func TestGet(t *testing.T) {
	busy, _ := os.ReadFile("testdata/busy.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/jibri/api/v1.0/health" {
			http.NotFound(w, r)
			return
		}
		w.Write(busy)
	}))
	defer srv.Close()
	s, err := New(srv.URL+"/jibri/api/v1.0/health", nil).Get(context.Background())
	if err != nil || !s.IsBusy() {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := New(srv.URL+"/other", nil).Get(context.Background()); err == nil {
		t.Fatal("a 404 gave a status")
	}
	srv.Close()
	if _, err := New(srv.URL+"/jibri/api/v1.0/health", nil).Get(context.Background()); err == nil {
		t.Fatal("a stopped jibri gave a status")
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/idle.json", "testdata/busy.json"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err == nil && s.BusyStatus != Idle && s.BusyStatus != Busy && s.BusyStatus != Expired {
			t.Fatalf("accepted busy status %q", s.BusyStatus)
		}
	})
}
