package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/secrets"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("s3cr3t")
	body := []byte(`{"id":"evt_1"}`)
	at := time.Unix(1764000000, 0)
	sig := webhook.Sign(secret, at, body)
	if !strings.HasPrefix(sig, "t=1764000000,v1=") || len(sig) != len("t=1764000000,v1=")+64 {
		t.Fatalf("signature %q", sig)
	}
	tests := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"good", secret, sig, body, at.Add(time.Minute), nil},
		{"rotation: second v1 matches", secret, "t=1764000000,v1=" + strings.Repeat("0", 64) + "," + sig[len("t=1764000000,"):], body, at, nil},
		{"other secret", []byte("other"), sig, body, at, webhook.ErrBadSignature},
		{"body changed", secret, sig, []byte(`{"id":"evt_2"}`), at, webhook.ErrBadSignature},
		{"replayed late", secret, sig, body, at.Add(6 * time.Minute), webhook.ErrStale},
		{"from the future", secret, sig, body, at.Add(-6 * time.Minute), webhook.ErrStale},
		{"timestamp changed", secret, strings.Replace(sig, "t=1764000000", "t=1764000001", 1), body, at, webhook.ErrBadSignature},
		{"no v1", secret, "t=1764000000", body, at, webhook.ErrMalformed},
		{"garbage", secret, "nonsense", body, at, webhook.ErrMalformed},
	}
	for _, tc := range tests {
		err := webhook.Verify(tc.secret, tc.header, tc.body, tc.now, webhook.DefaultTolerance)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestSignKnownVector pins the scheme documented in docs/events.md (the
// openssl line there gives the same hex).
func TestSignKnownVector(t *testing.T) {
	got := webhook.Sign([]byte("whsec_test"), time.Unix(1764000000, 0), []byte(`{"hello":"world"}`))
	want := "t=1764000000,v1=" + knownVector
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestPolicyDelay(t *testing.T) {
	p := webhook.Policy{Base: 10 * time.Second, Max: time.Hour, GiveUp: 72 * time.Hour}
	for _, r := range []float64{0, 0.5, 0.999} {
		p.Rand = func() float64 { return r }
		prev := time.Duration(0)
		for n := 1; n <= 40; n++ {
			d := p.Delay(n, 0)
			full := min(10*time.Second<<min(n-1, 20), time.Hour)
			if d < full/2 || d > full {
				t.Fatalf("rand %v attempt %d: %s outside [%s, %s]", r, n, d, full/2, full)
			}
			if d < prev {
				t.Fatalf("attempt %d: %s shorter than %s", n, d, prev)
			}
			prev = d
		}
	}
	p.Rand = func() float64 { return 0 }
	if d := p.Delay(1, 2*time.Minute); d != 2*time.Minute {
		t.Fatalf("retry-after not honoured: %s", d)
	}
	if d := p.Delay(1, 5*time.Hour); d != 5*time.Second {
		t.Fatalf("retry-after beyond max must be ignored: %s", d)
	}
	q := time.Unix(0, 0)
	if p.Expired(q, q.Add(72*time.Hour)) || !p.Expired(q, q.Add(72*time.Hour+time.Second)) {
		t.Fatal("give-up age")
	}
}

func TestSendOutcomes(t *testing.T) {
	tests := []struct {
		status int
		want   webhook.Outcome
	}{{200, webhook.Delivered}, {204, webhook.Delivered}, {410, webhook.Gone}, {500, webhook.Retry}, {404, webhook.Retry}, {302, webhook.Retry}, {429, webhook.Retry}}
	for _, tc := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.status == 302 {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
				return
			}
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(tc.status)
		}))
		ep, err := webhook.ParseEndpoint(srv.URL + "/x?token=t0ps3cret")
		if err != nil {
			t.Fatal(err)
		}
		c := webhook.NewClient(secrets.NewValue("k"), 2*time.Second)
		r := c.Send(context.Background(), ep, "evt_x", "recording.committed", []byte(`{}`), 1)
		srv.Close()
		if r.Outcome != tc.want || r.Status != tc.status {
			t.Errorf("%d: outcome %v status %d err %v", tc.status, r.Outcome, r.Status, r.Err)
		}
		if r.Err != nil && strings.Contains(r.Err.Error(), "t0ps3cret") {
			t.Errorf("%d: the error shows the URL's token: %v", tc.status, r.Err)
		}
		if tc.want == webhook.Retry && tc.status == 500 && r.After != 7*time.Second {
			t.Errorf("retry-after %s", r.After)
		}
	}
}

func TestSendTimeoutAndRefused(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	ep, _ := webhook.ParseEndpoint(srv.URL + "/slow?token=t0ps3cret")
	c := webhook.NewClient(secrets.NewValue("k"), 100*time.Millisecond)
	r := c.Send(context.Background(), ep, "evt_x", "recording.committed", []byte(`{}`), 1)
	if r.Outcome != webhook.Retry || r.Err == nil || strings.Contains(r.Err.Error(), "t0ps3cret") {
		t.Fatalf("slow: %+v", r)
	}
	dead, _ := webhook.ParseEndpoint("http://127.0.0.1:1/?token=t0ps3cret")
	r = c.Send(context.Background(), dead, "evt_x", "recording.committed", []byte(`{}`), 1)
	if r.Outcome != webhook.Retry || r.Err == nil || strings.Contains(r.Err.Error(), "t0ps3cret") {
		t.Fatalf("refused: %+v", r)
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, bad := range []string{"", "ftp://x/y", "/relative", "http://", "not a url"} {
		if _, err := webhook.ParseEndpoint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	a, _ := webhook.ParseEndpoint("https://hooks.example.com/a?token=1")
	b, _ := webhook.ParseEndpoint("https://hooks.example.com/a?token=2")
	if a.ID() == b.ID() || a.Name() != "https://hooks.example.com" || strings.Contains(a.String(), "token") {
		t.Fatalf("%s %s %s", a.ID(), b.ID(), a)
	}
}
