// Package webhooktest is a real HTTP receiver of webhook deliveries for
// tests: it listens on 127.0.0.1, verifies every signature as an
// integrator would (webhook.Verify), checks that the body's id is the
// Jibri-Event-Id header, and records what arrived. It can be taken down
// (the port refuses connections) and brought up again on the same port,
// answer a given status for a number of requests, or answer slowly.
package webhooktest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/webhook"
)

// Delivery is one request as received.
type Delivery struct {
	ID, Type string
	Attempt  string
	Body     []byte
	Status   int  // what the receiver answered
	Verified bool // signature and id checked
}

// Receiver is a running receiver.
type Receiver struct {
	URL    string
	secret []byte
	t      testing.TB

	mu       sync.Mutex
	addr     string
	srv      *http.Server
	status   int // answer for the next failN requests
	failN    int
	delay    time.Duration
	got      []Delivery
	badSigs  int
	accepted map[string]int // 2xx answers per event id
}

// Start runs a receiver until the test ends.
func Start(t testing.TB, secret string) *Receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{secret: []byte(secret), t: t, addr: ln.Addr().String(), accepted: map[string]int{}}
	r.URL = "http://" + r.addr + "/hooks/jibri?token=receiver-token"
	r.serve(ln)
	t.Cleanup(r.Down)
	return r
}

func (r *Receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Down closes the listener and every connection: connections are refused
// until Up.
func (r *Receiver) Down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Up listens again on the same port.
func (r *Receiver) Up() {
	r.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("webhooktest: cannot listen again on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

// Fail answers status to the next n requests.
func (r *Receiver) Fail(status, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.failN = status, n
}

// Slow delays every answer by d (0: none).
func (r *Receiver) Slow(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = d
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 8<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	d := Delivery{ID: req.Header.Get(webhook.HeaderEventID), Type: req.Header.Get(webhook.HeaderEventType),
		Attempt: req.Header.Get(webhook.HeaderAttempt), Body: body}
	var probe struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	verr := webhook.Verify(r.secret, req.Header.Get(webhook.HeaderSignature), body, time.Now(), webhook.DefaultTolerance)
	jerr := json.Unmarshal(body, &probe)
	d.Verified = verr == nil && jerr == nil && probe.ID == d.ID && probe.Type == d.Type && d.ID != ""
	r.mu.Lock()
	delay := r.delay
	switch {
	case !d.Verified:
		d.Status = http.StatusUnauthorized
		r.badSigs++
	case r.failN > 0:
		d.Status = r.status
		r.failN--
	default:
		d.Status = http.StatusNoContent
	}
	r.got = append(r.got, d)
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
		}
	}
	// Counted as accepted once the answer is written: a sender that gave up
	// waiting still got it delivered (it will send it again: a duplicate).
	w.WriteHeader(d.Status)
	if d.Status/100 == 2 {
		r.mu.Lock()
		r.accepted[d.ID]++
		r.mu.Unlock()
	}
}

// Deliveries returns every request received.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.got...)
}

// Accepted returns the number of 2xx answers per event id.
func (r *Receiver) Accepted() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.accepted))
	for k, v := range r.accepted {
		out[k] = v
	}
	return out
}

// BadSignatures counts requests that failed verification.
func (r *Receiver) BadSignatures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.badSigs
}
