package faults

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// proxy forwards to MinIO, counts requests by kind, and injects faults.
type proxy struct {
	srv *httptest.Server
	rp  *httputil.ReverseProxy

	mu     sync.Mutex
	counts map[string]int
	fault  func(kind string, n int, w http.ResponseWriter, r *http.Request) bool
	stop   chan struct{}
}

func newProxy(target string) *proxy {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	p := &proxy{counts: map[string]int{}, stop: make(chan struct{})}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		w.WriteHeader(http.StatusBadGateway) // MinIO down
	}
	p.rp.Transport = &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

func (p *proxy) close() {
	close(p.stop)
	p.srv.Close()
}

func kind(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "part"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "create"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "complete"
	case r.Method == http.MethodPut:
		return "put"
	case r.Method == http.MethodHead:
		return "head"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "abort"
	case r.Method == http.MethodGet && q.Has("uploadId"):
		return "listparts"
	case r.Method == http.MethodGet && q.Has("uploads"):
		return "listuploads"
	}
	return strings.ToLower(r.Method)
}

func (p *proxy) serve(w http.ResponseWriter, r *http.Request) {
	k := kind(r)
	p.mu.Lock()
	p.counts[k]++
	n := p.counts[k]
	fault := p.fault
	p.mu.Unlock()
	if fault != nil && fault(k, n, w, r) {
		return
	}
	p.rp.ServeHTTP(w, r)
}

// setFault installs f and resets the counters.
func (p *proxy) setFault(f func(kind string, n int, w http.ResponseWriter, r *http.Request) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
	p.counts = map[string]int{}
}

func (p *proxy) count(k string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[k]
}

// reset reads some of the request body, then closes the connection with
// an RST, as a broken network path would.
func reset(w http.ResponseWriter, after int64) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	_, _ = io.CopyN(io.Discard, bufio.NewReader(buf), after)
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	conn.Close()
}

// stall stops reading and answering for d (the client's I/O timeout must
// fire first).
func (p *proxy) stall(w http.ResponseWriter, d time.Duration) {
	select {
	case <-time.After(d):
	case <-p.stop:
	}
	w.WriteHeader(http.StatusInternalServerError)
}

// slowDown answers like S3 under throttling.
func slowDown(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
}

// internalError answers like S3 with a transient server error.
func internalError(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>`)
}
