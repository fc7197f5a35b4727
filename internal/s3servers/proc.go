package s3servers

import (
	"bytes"
	"os/exec"
	"sync"
	"syscall"
	"testing"
)

// proc is a server process killed when the test ends.
type proc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

// startProc starts bin with args and env (appended to nothing: the caller
// passes all of it) in dir.
func startProc(t testing.TB, dir string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Its own process group, so that the servers it forks die with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("s3servers: cannot start %s: %v", bin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
	return p
}

func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// syncBuffer is the combined output of a process, read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	const tail = 4000
	if b := s.b.Bytes(); len(b) > tail {
		return "..." + string(b[len(b)-tail:])
	}
	return s.b.String()
}
