package nulls3

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits on the metadata kept, so a misbehaving client cannot grow the
// server without bound.
const (
	maxUploads = 10_000  // multipart uploads in progress
	maxObjects = 100_000 // objects remembered
)

// Server is a null S3 endpoint. The zero value is not usable; call New.
type Server struct {
	readers  sync.Pool // *bufio.Reader of readBufferSize
	received atomic.Int64
	seq      atomic.Uint64

	mu      sync.Mutex
	objects map[string]object     // "bucket/key"
	uploads map[string]*multipart // upload id

	srv *http.Server
	dir string // temporary directory of the TLS certificate
}

// object is what HeadObject reports about a stored (discarded) object.
type object struct {
	size        int64
	etag        string
	contentType string
	checksums   map[string]string // canonical header name -> value
	modified    time.Time
}

// multipart is an upload in progress: only the size of each part.
type multipart struct {
	bucket, key string
	contentType string
	parts       map[int]part
}

type part struct {
	size int64
	etag string
}

// New returns a Server that is not listening yet; see Start, or use it as
// an http.Handler.
func New() *Server {
	s := &Server{objects: map[string]object{}, uploads: map[string]*multipart{}}
	s.readers.New = func() any { return bufio.NewReaderSize(nil, readBufferSize) }
	return s
}

// Start serves on a random port of 127.0.0.1 over HTTP/1.1 only, with TLS
// when useTLS is set. It returns the endpoint URL and, with TLS, the path of
// a PEM file holding the self-signed certificate for the client to trust.
func (s *Server) Start(useTLS bool) (url, caFile string, err error) {
	if s.srv != nil {
		return "", "", errors.New("nulls3: server already started")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", fmt.Errorf("nulls3: cannot listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		// A non-nil empty map keeps HTTP/2 off: S3 speaks HTTP/1.1.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	scheme := "http"
	if useTLS {
		dir, err := os.MkdirTemp("", "nulls3-")
		if err != nil {
			ln.Close()
			return "", "", fmt.Errorf("nulls3: cannot create certificate directory: %w", err)
		}
		caFile = filepath.Join(dir, "public.crt")
		cert, err := WriteCert(caFile, filepath.Join(dir, "private.key"))
		if err != nil {
			ln.Close()
			os.RemoveAll(dir)
			return "", "", err
		}
		s.dir = dir
		srv.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
			MinVersion:   tls.VersionTLS12,
		}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return scheme + "://" + ln.Addr().String(), caFile, nil
}

// Close stops the server and removes its certificate.
func (s *Server) Close() error {
	var err error
	if s.srv != nil {
		err = s.srv.Close()
	}
	if s.dir != "" {
		if rerr := os.RemoveAll(s.dir); err == nil {
			err = rerr
		}
		s.dir = ""
	}
	return err
}

// Received returns the number of payload bytes read and discarded so far.
func (s *Server) Received() int64 { return s.received.Load() }

// ServeHTTP routes path-style S3 requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	w.Header().Set("X-Amz-Request-Id", fmt.Sprintf("%016X", s.seq.Add(1)))
	switch {
	case bucket == "":
		s.fail(w, r, http.StatusNotImplemented, "NotImplemented", "only bucket and object operations are supported")
	case key == "":
		s.bucketOp(w, r)
	case r.Method == http.MethodPost && q.Has("uploads"):
		s.createMultipart(w, r, bucket, key)
	case r.Method == http.MethodPost && q.Has("uploadId"):
		s.completeMultipart(w, r, bucket, key, q.Get("uploadId"))
	case r.Method == http.MethodPut && q.Has("uploadId"):
		s.uploadPart(w, r, q.Get("uploadId"), q.Get("partNumber"))
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") == "":
		s.putObject(w, r, bucket, key)
	case r.Method == http.MethodHead:
		s.headObject(w, bucket, key)
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		s.abortMultipart(w, q.Get("uploadId"))
	case r.Method == http.MethodDelete:
		s.mu.Lock()
		delete(s.objects, bucket+"/"+key)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		s.fail(w, r, http.StatusNotImplemented, "NotImplemented", r.Method+" is not supported by the null endpoint")
	}
}

// bucketOp accepts every bucket: creating, probing and deleting one succeed.
func (s *Server) bucketOp(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPut, http.MethodHead:
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		s.fail(w, r, http.StatusNotImplemented, "NotImplemented", "bucket "+r.Method+" is not supported by the null endpoint")
	}
}

func (s *Server) headObject(w http.ResponseWriter, bucket, key string) {
	s.mu.Lock()
	o, ok := s.objects[bucket+"/"+key]
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Length", fmt.Sprint(o.size))
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
	if o.contentType != "" {
		h.Set("Content-Type", o.contentType)
	}
	if len(o.checksums) > 0 {
		for k, v := range o.checksums {
			h.Set(k, v)
		}
		h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	w.WriteHeader(http.StatusOK)
}

// remember stores an object's metadata, refusing when the table is full.
func (s *Server) remember(bucket, key string, o object) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := bucket + "/" + key
	if _, ok := s.objects[k]; !ok && len(s.objects) >= maxObjects {
		return false
	}
	s.objects[k] = o
	return true
}

func (s *Server) etag(suffix string) string {
	return fmt.Sprintf(`"%032x%s"`, s.seq.Add(1), suffix)
}
