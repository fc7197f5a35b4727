package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/jitsi-recorder/jibri-s3/internal/nulls3"
)

// References, as named in the report: the physical ceilings of this
// machine, measured by this program run as a child (-ref).
const (
	refRead = "page-cache read"
	refTCP  = "loopback TCP"
	refTLS  = "loopback TLS"
)

var allRefs = []string{refRead, refTCP, refTLS}

// refBuffer is the read size of the references (what a part reader does).
const refBuffer = 1 << 20

// sink accepts connections over plain TCP and TLS and discards what they
// send: the far end of the loopback references.
type sink struct {
	tcpAddr, tlsAddr string
	caFile           string
	lns              []net.Listener
}

func startSink(dir string) (*sink, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	s := &sink{caFile: filepath.Join(dir, "public.crt")}
	cert, err := nulls3.WriteCert(s.caFile, filepath.Join(dir, "private.key"))
	if err != nil {
		return nil, err
	}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cannot listen: %w", err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		plain.Close()
		return nil, fmt.Errorf("cannot listen: %w", err)
	}
	secure := tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	s.tcpAddr, s.tlsAddr = plain.Addr().String(), raw.Addr().String()
	s.lns = []net.Listener{plain, secure}
	for _, ln := range s.lns {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					buf := make([]byte, 256<<10)
					for {
						if _, err := c.Read(buf); err != nil {
							break
						}
					}
					c.Close()
				}()
			}
		}()
	}
	return s, nil
}

func (s *sink) Close() {
	for _, ln := range s.lns {
		ln.Close()
	}
}

// refArgs returns the arguments that make this program run reference ref
// over file with streams readers in parallel.
func (s *sink) refArgs(ref, file string, streams int) []string {
	args := []string{"-ref", ref, "-ref-file", file, "-ref-streams", fmt.Sprint(streams)}
	switch ref {
	case refTCP:
		args = append(args, "-ref-addr", s.tcpAddr)
	case refTLS:
		args = append(args, "-ref-addr", s.tlsAddr, "-ref-ca", s.caFile)
	}
	return args
}

// runRef is the child side: read file in streams contiguous ranges, in
// parallel, with 1 MiB reads, and send each range to a connection (or
// nowhere for the page-cache read).
func runRef(ref, file, addr, caFile string, streams int) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	var tlsConf *tls.Config
	if ref == refTLS {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	size := fi.Size()
	per := (size + int64(streams) - 1) / int64(streams)
	var wg sync.WaitGroup
	errs := make([]error, streams)
	for i := range streams {
		off := int64(i) * per
		n := min(per, size-off)
		if n <= 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var w io.Writer = io.Discard
			switch ref {
			case refTCP:
				c, err := net.Dial("tcp", addr)
				if err != nil {
					errs[i] = err
					return
				}
				defer c.Close()
				w = c
			case refTLS:
				c, err := tls.Dial("tcp", addr, tlsConf)
				if err != nil {
					errs[i] = err
					return
				}
				defer c.Close()
				w = c
			}
			buf := make([]byte, refBuffer)
			// Plain reads and writes: no sendfile, as an HTTP client does.
			r := io.NewSectionReader(f, off, n)
			for {
				k, err := r.Read(buf)
				if k > 0 {
					if _, werr := w.Write(buf[:k]); werr != nil {
						errs[i] = werr
						return
					}
				}
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
