package throttle

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// sink accepts connections and hands each received byte stream to got;
// it writes reply back on each connection before reading.
type sink struct {
	ln    net.Listener
	reply []byte
	mu    sync.Mutex
	got   [][]byte
	wg    sync.WaitGroup
}

func newSink(t *testing.T, reply []byte) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln, reply: reply}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				if len(s.reply) > 0 {
					if _, err := c.Write(s.reply); err != nil {
						return
					}
				}
				b, _ := io.ReadAll(c)
				s.mu.Lock()
				s.got = append(s.got, b)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *sink) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.got...)
}

func start(t *testing.T, o Options) *Proxy {
	t.Helper()
	p, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRateLimitsUpstream(t *testing.T) {
	cases := []struct {
		name string
		rate int64
		size int
	}{
		{"256 KB/s", 256 << 10, 384 << 10},
		{"1 MB/s", 1 << 20, 1536 << 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSink(t, nil)
			p := start(t, Options{Target: s.ln.Addr().String(), Rate: c.rate, SocketBuffer: 32 << 10})
			data := randomBytes(t, c.size)
			conn, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			if _, err := conn.Write(data); err != nil {
				t.Fatal(err)
			}
			conn.(*net.TCPConn).CloseWrite()
			waitFor(t, 10*time.Second, func() bool { return len(s.received()) == 1 })
			took := time.Since(began)
			// The first burst is free; the rest goes at the rate.
			want := time.Duration(float64(c.size-p.o.Burst) / float64(c.rate) * float64(time.Second))
			if took < want*9/10 || took > want*3/2+300*time.Millisecond {
				t.Errorf("forwarding %d bytes at %d B/s took %v, want about %v", c.size, c.rate, took, want)
			}
			if got := s.received()[0]; !bytes.Equal(got, data) {
				t.Fatalf("the server received %d bytes that differ from the %d sent", len(got), len(data))
			}
			st := p.Stats()
			if st.Connections != 1 || st.Upstream != int64(c.size) {
				t.Errorf("stats = %+v, want 1 connection and %d bytes upstream", st, c.size)
			}
			conn.Close()
		})
	}
}

func TestDownstreamIsNotThrottled(t *testing.T) {
	reply := randomBytes(t, 4<<20)
	s := newSink(t, reply)
	p := start(t, Options{Target: s.ln.Addr().String(), Rate: 1 << 10})
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(reply))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatalf("reading 4 MiB through a proxy limited to 1 KB/s upstream: %v", err)
	}
	if !bytes.Equal(got, reply) {
		t.Fatal("the reply differs")
	}
	if st := p.Stats(); st.Downstream != int64(len(reply)) {
		t.Errorf("downstream = %d, want %d", st.Downstream, len(reply))
	}
}

func TestPauseAndResume(t *testing.T) {
	s := newSink(t, nil)
	p := start(t, Options{Target: s.ln.Addr().String()})
	p.Pause()
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	time.Sleep(300 * time.Millisecond)
	if st := p.Stats(); st.Upstream != 0 || len(s.received()) != 0 {
		t.Fatalf("a paused proxy forwarded: %+v", st)
	}
	p.Resume()
	waitFor(t, 5*time.Second, func() bool { return len(s.received()) == 1 })
	if got := string(s.received()[0]); got != "hello" {
		t.Errorf("received %q", got)
	}
	p.Resume() // idempotent
}

func TestCloseEndsConnections(t *testing.T) {
	for _, how := range []string{"Close", "context"} {
		t.Run(how, func(t *testing.T) {
			s := newSink(t, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p, err := Start(ctx, Options{Target: s.ln.Addr().String(), Rate: 1})
			if err != nil {
				t.Fatal(err)
			}
			p.Pause()
			conn, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write([]byte("x"))
			waitFor(t, 5*time.Second, func() bool { return p.Stats().Connections == 1 })
			done := make(chan struct{})
			go func() {
				if how == "Close" {
					p.Close()
				} else {
					cancel()
					p.Close()
				}
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not return while a connection was paused")
			}
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, net.ErrClosed) {
				t.Fatalf("the client connection is still open after Close: %v", err)
			} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the client connection is still open after Close")
			}
			if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
				t.Error("the proxy still accepts connections after Close")
			}
			p.Close() // idempotent
		})
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{}, {Target: "127.0.0.1:1", Rate: -1}, {Target: "127.0.0.1:1", SocketBuffer: -1}} {
		if p, err := Start(context.Background(), o); err == nil {
			p.Close()
			t.Errorf("Start(%+v) accepted", o)
		}
	}
}

func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	var slept []time.Duration
	b := &bucket{rate: 1000, burst: 100, tokens: 100, last: now,
		now: func() time.Time { return now },
		sleep: func(_ context.Context, d time.Duration) error {
			slept = append(slept, d)
			now = now.Add(d)
			return nil
		}}
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		take    int
		sleep   time.Duration // 0: none
	}{
		{0, 100, 0},                      // the burst is free
		{0, 50, 50 * time.Millisecond},   // then 1 byte per ms
		{time.Hour, 100, 0},              // refills up to burst only
		{0, 200, 200 * time.Millisecond}, // more than the burst waits
		{10 * time.Millisecond, 10, 0},   // tokens earned while idle
		{0, 1, 1 * time.Millisecond},     // none left
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		slept = nil
		if err := b.take(ctx, s.take); err != nil {
			t.Fatal(err)
		}
		var got time.Duration
		if len(slept) > 0 {
			got = slept[0]
		}
		if got != s.sleep {
			t.Errorf("step %d: slept %v, want %v", i, got, s.sleep)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := newBucket(1, 1).take(cctx, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("take on a canceled context = %v", err)
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
