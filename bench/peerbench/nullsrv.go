package main

import (
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/nulls3"
)

// nullEndpoint serves package nulls3 over HTTPS with HTTP/1.1 only, as S3
// does, and adds what the peers need before they upload (GetBucketLocation,
// an empty ListObjects, ListBuckets). It also records which integrity
// headers each request carries, and when the first connection of a run
// arrives (for the start-up measurement).
type nullEndpoint struct {
	null *nulls3.Server
	srv  *http.Server
	url  string
	ca   string

	firstAccept atomic.Int64 // UnixNano of the first accepted connection since reset
	watchPID    atomic.Int64 // process whose scheduler statistics are taken at the first accept
	onCPU       atomic.Int64 // its ns on a CPU by then, all threads
	waiting     atomic.Int64 // its ns runnable but waiting for a CPU by then
	mu          sync.Mutex
	seen        map[string]map[string]bool // request kind -> integrity features
	heads       map[string][]byte          // key of an .mp4 -> the first payload bytes of its first part
}

// startNullEndpoint listens on a random loopback port; dir holds the
// self-signed certificate.
func startNullEndpoint(dir string) (*nullEndpoint, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	ca := filepath.Join(dir, "public.crt")
	cert, err := nulls3.WriteCert(ca, filepath.Join(dir, "private.key"))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen: %w", err)
	}
	n := &nullEndpoint{null: nulls3.New(), ca: ca, seen: map[string]map[string]bool{}, heads: map[string][]byte{}}
	n.url = "https://" + ln.Addr().String()
	n.srv = &http.Server{
		Handler:           n,
		ReadHeaderTimeout: 30 * time.Second,
		// A non-nil empty map keeps HTTP/2 off: S3 speaks HTTP/1.1.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
			MinVersion:   tls.VersionTLS12,
		},
	}
	tl := tls.NewListener(stampListener{Listener: ln, n: n}, n.srv.TLSConfig)
	go func() { _ = n.srv.Serve(tl) }()
	return n, nil
}

func (n *nullEndpoint) Close() { _ = n.srv.Close() }

// reset forgets the first-connection time and the integrity features.
func (n *nullEndpoint) reset() {
	n.firstAccept.Store(0)
	n.watchPID.Store(0)
	n.onCPU.Store(0)
	n.waiting.Store(0)
	n.mu.Lock()
	n.seen = map[string]map[string]bool{}
	n.heads = map[string][]byte{}
	n.mu.Unlock()
}

// head returns the first payload bytes received for key since reset.
func (n *nullEndpoint) head(key string) ([]byte, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.heads[key]
	return h, ok
}

// firstConnection returns when the first connection since reset arrived.
func (n *nullEndpoint) firstConnection() (time.Time, bool) {
	v := n.firstAccept.Load()
	return time.Unix(0, v), v != 0
}

// integrity describes the integrity headers seen since reset, by request
// kind, e.g. "part: Content-MD5; complete: x-amz-checksum-crc64nvme".
func (n *nullEndpoint) integrity() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, kind := range []string{"put", "create", "part", "complete"} {
		f := n.seen[kind]
		if len(f) == 0 {
			continue
		}
		names := make([]string, 0, len(f))
		for k := range f {
			names = append(names, k)
		}
		slices.Sort(names)
		out = append(out, kind+": "+strings.Join(names, ", "))
	}
	if len(out) == 0 {
		return "no integrity header"
	}
	return strings.Join(out, "; ")
}

func (n *nullEndpoint) observe(r *http.Request) {
	q := r.URL.Query()
	var kind string
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		kind = "create"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		kind = "complete"
	case r.Method == http.MethodPut && q.Has("uploadId"):
		kind = "part"
	case r.Method == http.MethodPut:
		kind = "put"
	default:
		return
	}
	var f []string
	if r.Header.Get("Content-Md5") != "" {
		f = append(f, "Content-MD5")
	}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		switch {
		case lk == "x-amz-checksum-algorithm":
			f = append(f, "algorithm "+strings.ToLower(v[0]))
		case lk == "x-amz-checksum-type":
			f = append(f, "type "+strings.ToLower(v[0]))
		case strings.HasPrefix(lk, "x-amz-checksum-") && lk != "x-amz-checksum-mode":
			f = append(f, strings.TrimPrefix(lk, "x-amz-checksum-")+" header")
		case lk == "x-amz-trailer":
			f = append(f, strings.TrimPrefix(strings.ToLower(v[0]), "x-amz-checksum-")+" trailer")
		case lk == "x-amz-meta-md5chksum":
			f = append(f, "whole-file MD5 as metadata")
		case lk == "x-amz-content-sha256" && kind != "create" && kind != "complete":
			f = append(f, payloadKind(v[0]))
		}
	}
	n.mu.Lock()
	if n.seen[kind] == nil {
		n.seen[kind] = map[string]bool{}
	}
	for _, s := range f {
		n.seen[kind][s] = true
	}
	n.mu.Unlock()
}

// payloadKind names an x-amz-content-sha256 value.
func payloadKind(v string) string {
	switch {
	case v == "UNSIGNED-PAYLOAD":
		return "unsigned payload"
	case strings.HasPrefix(v, "STREAMING-UNSIGNED-PAYLOAD"):
		return "unsigned aws-chunked"
	case strings.HasPrefix(v, "STREAMING-"):
		return "signed aws-chunked (SHA-256 per chunk)"
	case len(v) == 64:
		return "SHA-256 of the body signed"
	}
	return "x-amz-content-sha256 " + v
}

// ServeHTTP answers the read-only bucket calls peers make before an upload
// and passes everything else to nulls3.
func (n *nullEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.observe(r)
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && strings.HasSuffix(key, ".mp4") && (!q.Has("uploadId") || q.Get("partNumber") == "1"):
		// The start of the object: which boxes come first.
		c := &headCapture{ReadCloser: r.Body}
		r.Body = c
		n.null.ServeHTTP(w, r)
		h := c.buf
		if isChunked(r.Header) {
			h = dechunk(h)
		}
		n.mu.Lock()
		n.heads[key] = h
		n.mu.Unlock()
	case r.Method != http.MethodGet || key != "":
		n.null.ServeHTTP(w, r)
	case bucket == "":
		writeXML(w, struct {
			XMLName xml.Name `xml:"ListAllMyBucketsResult"`
			Buckets []struct {
				Name string `xml:"Bucket>Name"`
			} `xml:"Buckets"`
		}{Buckets: []struct {
			Name string `xml:"Bucket>Name"`
		}{{Name: benchBucket}}})
	case q.Has("location"):
		writeXML(w, struct {
			XMLName xml.Name `xml:"LocationConstraint"`
			Value   string   `xml:",chardata"`
		}{})
	default:
		writeXML(w, struct {
			XMLName     xml.Name `xml:"ListBucketResult"`
			Name        string
			Prefix      string
			KeyCount    int
			MaxKeys     int
			IsTruncated bool
		}{Name: bucket, Prefix: q.Get("prefix"), MaxKeys: 1000})
	}
}

func writeXML(w http.ResponseWriter, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append([]byte(xml.Header), out...))
}

// stampListener records the time of the first accepted connection and
// the scheduler statistics of the watched process at that moment.
type stampListener struct {
	net.Listener
	n *nullEndpoint
}

func (l stampListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil && l.n.firstAccept.CompareAndSwap(0, time.Now().UnixNano()) {
		if pid := l.n.watchPID.Load(); pid != 0 {
			run, wait := schedStat(int(pid))
			l.n.onCPU.Store(run)
			l.n.waiting.Store(wait)
		}
	}
	return c, err
}

// schedStat sums /proc/PID/task/*/schedstat: nanoseconds on a CPU and
// nanoseconds runnable but waiting, over the live threads.
func schedStat(pid int) (run, wait int64) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		var r, w int64
		if _, err := fmt.Sscan(string(data), &r, &w); err == nil {
			run += r
			wait += w
		}
	}
	return run, wait
}
