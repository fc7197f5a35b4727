package s3conn

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sendProgress reads the kernel's view of the send direction: the bytes the
// peer has acknowledged so far, and whether bytes are still waiting in the
// send queue (unsent or unacknowledged). ok is false when the socket cannot
// say (not TCP, or a kernel without these TCP_INFO fields).
func sendProgress(raw syscall.RawConn) (acked uint64, queued, ok bool) {
	var info *unix.TCPInfo
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil {
		return 0, false, false
	}
	return info.Bytes_acked, info.Unacked > 0 || info.Notsent_bytes > 0, true
}
