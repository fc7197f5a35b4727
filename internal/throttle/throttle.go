package throttle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Proxy.
type Options struct {
	// Target is the host:port every connection is forwarded to.
	Target string
	// Rate limits the client-to-server direction of each connection, in
	// bytes per second; 0 forwards without limit.
	Rate int64
	// Burst is the size of each connection's token bucket in bytes (the most
	// forwarded at once); 0 means Rate/20, at least 1 KiB and at most 64 KiB.
	Burst int
	// SocketBuffer, when positive, sets the kernel receive and send buffers
	// of the proxy's sockets (both sides) to this many bytes.
	SocketBuffer int
}

// Stats are counters since Start.
type Stats struct {
	Connections int64 // connections accepted
	Upstream    int64 // bytes forwarded client to server
	Downstream  int64 // bytes forwarded server to client
}

// Proxy is a running throttling proxy. Its methods are safe for concurrent
// use.
type Proxy struct {
	o      Options
	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	conns       atomic.Int64
	upstream    atomic.Int64
	downstream  atomic.Int64
	mu          sync.Mutex
	open        map[net.Conn]struct{}
	paused      bool
	resume      chan struct{} // closed by Resume while paused
	closeOnce   sync.Once
	dialTimeout time.Duration
}

// Start listens on a free port of 127.0.0.1 and forwards to o.Target until
// Close is called or ctx ends.
func Start(ctx context.Context, o Options) (*Proxy, error) {
	if o.Target == "" {
		return nil, errors.New("throttle: no target address")
	}
	if o.Rate < 0 || o.Burst < 0 || o.SocketBuffer < 0 {
		return nil, fmt.Errorf("throttle: negative rate, burst or socket buffer")
	}
	if o.Burst == 0 {
		o.Burst = int(min(max(o.Rate/20, 1<<10), 64<<10))
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("throttle: cannot listen: %w", err)
	}
	p := &Proxy{o: o, ln: ln, open: map[net.Conn]struct{}{}, dialTimeout: 5 * time.Second}
	p.ctx, p.cancel = context.WithCancel(ctx)
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		<-p.ctx.Done()
		p.shutdown()
	}()
	go func() {
		defer p.wg.Done()
		p.accept()
	}()
	return p, nil
}

// Addr returns the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	return Stats{Connections: p.conns.Load(), Upstream: p.upstream.Load(), Downstream: p.downstream.Load()}
}

// Pause stops forwarding in both directions; connections stay open and the
// bytes already read wait in the proxy until Resume.
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		p.paused = true
		p.resume = make(chan struct{})
	}
}

// Resume undoes Pause.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		p.paused = false
		close(p.resume)
	}
}

// Close stops the listener and every connection, and waits until all the
// proxy's goroutines have returned. It is idempotent.
func (p *Proxy) Close() error {
	p.cancel()
	p.wg.Wait()
	return nil
}

func (p *Proxy) shutdown() {
	p.closeOnce.Do(func() {
		_ = p.ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.open {
			_ = c.Close()
		}
	})
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed by shutdown (or a broken listener: nothing to serve)
		}
		p.conns.Add(1)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

// track registers c so that shutdown closes it; it reports false (and
// closes c) when the proxy is already shutting down.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		_ = c.Close()
		return false
	}
	p.open[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *Proxy) serve(client net.Conn) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	d := net.Dialer{Timeout: p.dialTimeout}
	server, err := d.DialContext(p.ctx, "tcp", p.o.Target)
	if err != nil {
		return // the client sees its connection closed, as with a refused dial
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	if p.o.SocketBuffer > 0 {
		for _, c := range []net.Conn{client, server} {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(p.o.SocketBuffer)
				_ = tc.SetWriteBuffer(p.o.SocketBuffer)
			}
		}
	}
	var up *bucket
	if p.o.Rate > 0 {
		up = newBucket(p.o.Rate, p.o.Burst)
	}
	done := make(chan struct{}, 2)
	go func() {
		p.pipe(server, client, up, p.o.Burst, &p.upstream)
		done <- struct{}{}
	}()
	go func() {
		p.pipe(client, server, nil, 32<<10, &p.downstream)
		done <- struct{}{}
	}()
	// When one direction ends, end the other: close both and wait.
	<-done
	_ = client.Close()
	_ = server.Close()
	<-done
}

// pipe copies src to dst in pieces of at most chunk bytes, each one waiting
// for the bucket (when not nil) and for the proxy to be running.
func (p *Proxy) pipe(dst, src net.Conn, b *bucket, chunk int, count *atomic.Int64) {
	buf := make([]byte, chunk)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if err := p.waitRunning(); err != nil {
				return
			}
			if b != nil {
				if err := b.take(p.ctx, n); err != nil {
					return
				}
			}
			if err := p.waitRunning(); err != nil {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
			count.Add(int64(n))
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				// Half-close: the peer may still answer.
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
					return
				}
			}
			return
		}
	}
}

func (p *Proxy) waitRunning() error {
	p.mu.Lock()
	paused, resume := p.paused, p.resume
	p.mu.Unlock()
	if !paused {
		return p.ctx.Err()
	}
	select {
	case <-resume:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}
