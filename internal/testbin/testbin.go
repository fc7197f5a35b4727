// Package testbin builds the real binaries that CLI and fault-injection
// tests run, once per test binary, from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &bin, "finalize", ".")) }
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Build compiles the package pkg (a path as go build takes it) into dir as
// name, with extra go build arguments (tags...), and returns its path.
func Build(dir, name, pkg string, args ...string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", out, pkg)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testbin: go build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// Main builds pkg as name into a temporary directory readable by every
// user (tests run binaries as nobody too), stores its path in *bin, runs
// the tests and removes the directory. It returns the exit code for
// os.Exit.
func Main(m *testing.M, bin *string, name, pkg string, args ...string) int {
	dir, err := os.MkdirTemp("", name+"-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *bin, err = Build(dir, name, pkg, args...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
