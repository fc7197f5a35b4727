package s3conn

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// These tests use net.Pipe, which has deadlines but no kernel send queue:
// the stall timer sees only the bytes that cross the connection.

func TestStallConnKeepsASlowPeerAlive(t *testing.T) {
	const timeout = 200 * time.Millisecond
	client, server := net.Pipe()
	defer server.Close()
	c := newStallConn(client, timeout)
	defer c.Close()

	// The server reads the request a byte every timeout/4 for 4 timeouts,
	// then answers: the client's pending read must live through all of it.
	const size = 16
	go func() {
		b := make([]byte, 1)
		for range size {
			if _, err := io.ReadFull(server, b); err != nil {
				return
			}
			time.Sleep(timeout / 4)
		}
		server.Write([]byte("ok"))
	}()
	readErr := make(chan error, 1)
	go func() {
		b := make([]byte, 2)
		_, err := io.ReadFull(c, b)
		readErr <- err
	}()
	if _, err := c.Write(make([]byte, size)); err != nil {
		t.Fatalf("a write to a slow but steady peer failed: %v", err)
	}
	if err := <-readErr; err != nil {
		t.Fatalf("the read waiting for the answer failed while the request was still moving: %v", err)
	}
}

func TestStallConnReportsAStall(t *testing.T) {
	const timeout = 200 * time.Millisecond
	cases := []struct {
		name string
		op   func(c net.Conn) error
	}{
		{"a peer that stops reading", func(c net.Conn) error { _, err := c.Write(make([]byte, 1<<20)); return err }},
		{"a peer that never answers", func(c net.Conn) error { _, err := c.Read(make([]byte, 1)); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer server.Close()
			c := newStallConn(client, timeout)
			defer c.Close()
			go server.Read(make([]byte, 1000)) // a little progress, then nothing
			began := time.Now()
			err := tc.op(c)
			took := time.Since(began)
			if !errors.Is(err, ErrStalled) {
				t.Fatalf("err = %v, want ErrStalled", err)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("a stall is not a net.Error timeout: %v", err)
			}
			if took < timeout*9/10 || took > 3*timeout {
				t.Errorf("the stall was reported after %v, want about %v", took, timeout)
			}
			// Both directions fail as a stall from now on.
			if _, err := c.Read(make([]byte, 1)); !errors.Is(err, ErrStalled) {
				t.Errorf("read after the stall: %v", err)
			}
			c.Close()
			if _, err := c.Write([]byte("x")); !errors.Is(err, ErrStalled) {
				t.Errorf("write after the stall and close: %v", err)
			}
		})
	}
}
