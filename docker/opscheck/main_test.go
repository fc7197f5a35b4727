package opscheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// root is the repository root, relative to this package.
const root = "../.."

// finalizeBin and recwatchBin are the real binaries, built once: their --help is the list of
// JIBRI_UPLOAD_* variables each accepts.
var finalizeBin, recwatchBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "opscheck-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, b := range []struct {
		out  *string
		name string
	}{{&finalizeBin, "finalize"}, {&recwatchBin, "recwatch"}} {
		// Built in the main module (its go.sum), not in this one.
		*b.out = filepath.Join(dir, b.name)
		cmd := exec.Command("go", "build", "-o", *b.out, "./cmd/"+b.name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build ./cmd/%s: %v\n%s", b.name, err, out)
			return 1
		}
	}
	return m.Run()
}

// repoPath is a path under the repository root.
func repoPath(elem ...string) string {
	return filepath.Join(append([]string{root}, elem...)...)
}

// requireTool returns the path of a tool (from the environment variable env, else PATH), and
// fails the test where JIBRI_S3_REQUIRE_OPS=1 (make ops-check) when it is missing, skips it
// otherwise.
func requireTool(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	if p, err := lookPath(name); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found (set %s or put it on PATH; make ops-check installs it)", name, env)
	if os.Getenv("JIBRI_S3_REQUIRE_OPS") == "1" {
		t.Fatal(msg + "; JIBRI_S3_REQUIRE_OPS=1 makes this a failure")
	}
	t.Skip(msg)
	return ""
}
