package s3conn

import (
	"io"
	"net"
	"testing"
	"time"
)

// BenchmarkWrite compares a loopback TCP write through the stall timer
// with the bare connection (the timer's cost per byte on a fast link).
func BenchmarkWrite(b *testing.B) {
	for _, wrap := range []bool{false, true} {
		name := map[bool]string{false: "bare", true: "stallConn"}[wrap]
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err == nil {
					_, _ = io.Copy(io.Discard, c)
					c.Close()
				}
			}()
			raw, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			var c net.Conn = raw
			if wrap {
				c = newStallConn(raw, time.Minute)
			}
			defer c.Close()
			buf := make([]byte, 256<<10)
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
