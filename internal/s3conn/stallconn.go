package s3conn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// ErrStalled is matched (errors.Is) by the error of a request whose
// connection made no progress, in either direction, for the io timeout.
var ErrStalled = errors.New("stalled connection")

// StallError is what a stalled connection's Read and Write return, and so
// what the SDK's error for that attempt wraps. It is a net.Error with
// Timeout() true, and the SDK retryer retries it like any broken connection.
type StallError struct {
	Idle   time.Duration // the io timeout that passed without progress
	Remote string        // the peer's address
}

var _ net.Error = (*StallError)(nil)

func (e *StallError) Error() string {
	return fmt.Sprintf("s3conn: no progress for %v (stalled connection to %s)", e.Idle, e.Remote)
}

// Is makes errors.Is(err, ErrStalled) true.
func (e *StallError) Is(target error) bool { return target == ErrStalled }

// Timeout reports true: a stall is a timeout.
func (e *StallError) Timeout() bool { return true }

// Temporary reports true: another connection may well work.
func (e *StallError) Temporary() bool { return true }

// writeChunk is the most handed to the kernel in one write, so that a large
// buffered write (the transport flushes 256 KiB at once) shows its progress
// on a slow link piece by piece.
const writeChunk = 64 << 10

// stallConn is a stall timeout, not a request timeout: an operation fails
// only when no byte moved in either direction (and no operation started)
// for the timeout. Each start and each byte of progress pushes both the read
// and the write deadline out by the timeout, so a long upload keeps the
// transport's pending response read alive, and a long download keeps a
// pending write alive. Once the timeout passes without progress, both
// directions fail with a StallError.
//
// Bytes handed to the kernel are not yet sent: the send buffer grows to a
// few MB, which a slow link drains for many seconds after the last write
// returned, while the transport waits for the response. So when the
// deadline passes with bytes still queued, the kernel's count of bytes the
// peer acknowledged (Linux TCP_INFO) is taken, and the connection is given
// one more timeout to show that it grows; it is then progress too. A stall
// is thus reported one to three timeouts after the last byte moved: the
// count is sampled once per timeout, and the bytes the kernel still accepts
// into its buffers after the peer stopped count as moved.
type stallConn struct {
	net.Conn
	timeout time.Duration
	epoch   time.Time       // monotonic base of last
	raw     syscall.RawConn // nil when the socket cannot report acknowledgements

	mu      sync.Mutex
	last    time.Duration // since epoch: the last start or progress
	acked   uint64        // the peer's acknowledged bytes at the last count
	counted bool          // acked was counted after the last write progress
	writing bool          // a Write is in progress: it judges the stall
	stalled bool
}

func newStallConn(c net.Conn, timeout time.Duration) *stallConn {
	s := &stallConn{Conn: c, timeout: timeout, epoch: time.Now()}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			s.raw = raw
		}
	}
	s.kick(false)
	return s
}

// kick records progress and moves both deadlines; wrote says the progress
// was a write, after which the acknowledged count must be taken again.
func (c *stallConn) kick(wrote bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stalled {
		return
	}
	if wrote {
		c.counted = false
	}
	c.progressLocked()
}

func (c *stallConn) setWriting(w bool) {
	c.mu.Lock()
	c.writing = w
	c.mu.Unlock()
}

func (c *stallConn) uncount() {
	c.mu.Lock()
	c.counted = false
	c.mu.Unlock()
}

func (c *stallConn) progressLocked() {
	c.last = time.Since(c.epoch)
	_ = c.Conn.SetDeadline(c.epoch.Add(c.last + c.timeout))
}

// expired handles a deadline error: it reports false (try again) when
// progress was made since the deadline was set (the other direction moved
// just as the deadline fired, or the kernel's send queue drained, see
// stallConn); otherwise it marks the connection stalled, fails the other
// direction at once, and reports true.
//
// While a Write is in progress, a Read's deadline defers to it: the write
// may have moved bytes that it reports only when it returns.
func (c *stallConn) expired(err error, reading bool) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stalled {
		return true
	}
	now := time.Since(c.epoch)
	if reading && c.writing {
		_ = c.Conn.SetReadDeadline(c.epoch.Add(now + c.timeout))
		return false
	}
	if now-c.last < c.timeout && c.counted {
		_ = c.Conn.SetDeadline(c.epoch.Add(c.last + c.timeout))
		return false
	}
	if c.raw != nil {
		if acked, queued, ok := sendProgress(c.raw); ok {
			switch {
			case c.counted && acked > c.acked:
				c.acked = acked
				c.progressLocked()
				return false
			case !c.counted && queued:
				c.acked, c.counted = acked, true
				_ = c.Conn.SetDeadline(c.epoch.Add(now + c.timeout))
				return false
			}
		}
	}
	if now-c.last < c.timeout {
		_ = c.Conn.SetDeadline(c.epoch.Add(c.last + c.timeout))
		return false
	}
	c.stalled = true
	_ = c.Conn.SetDeadline(time.Unix(1, 0))
	return true
}

// fail replaces any error of a stalled connection (its deadline, or the
// transport closing it afterwards) with the StallError.
func (c *stallConn) fail(err error) error {
	if err == nil {
		return nil
	}
	c.mu.Lock()
	stalled := c.stalled
	c.mu.Unlock()
	if !stalled {
		return err
	}
	return &StallError{Idle: c.timeout, Remote: c.Conn.RemoteAddr().String()}
}

func (c *stallConn) Read(p []byte) (int, error) {
	c.kick(false)
	for {
		n, err := c.Conn.Read(p)
		if n > 0 {
			c.kick(false)
			return n, c.fail(err)
		}
		if err == nil || c.expired(err, true) {
			return n, c.fail(err)
		}
	}
}

func (c *stallConn) Write(p []byte) (int, error) {
	c.setWriting(true)
	defer c.setWriting(false)
	c.kick(false)
	written := 0
	for written < len(p) {
		chunk := p[written:]
		if len(chunk) > writeChunk {
			chunk = chunk[:writeChunk]
		}
		n, err := c.Conn.Write(chunk)
		written += n
		switch {
		case n > 0 && err == nil:
			c.kick(true)
		case n > 0 && c.raw == nil:
			c.kick(true)
		case n > 0:
			// Some bytes went at an unknown time during the call: not
			// progress now, but the acknowledged count must be taken again.
			c.uncount()
		}
		if err != nil && c.expired(err, false) {
			return written, c.fail(err)
		}
	}
	return written, nil
}
