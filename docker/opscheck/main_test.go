package opscheck

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// root is the repository root, relative to this package.
const root = "../.."

var (
	// finalizeBin and recwatchBin are the real binaries, built once in the main module: their
	// --help is the list of JIBRI_UPLOAD_* variables each accepts.
	finalizeBin, recwatchBin string
	// served are the metric families a running recwatch serves on /metrics.
	served map[string]*dto.MetricFamily
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "opscheck-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, b := range []struct {
		out  *string
		name string
	}{{&finalizeBin, "finalize"}, {&recwatchBin, "recwatch"}} {
		// Built in the main module (its go.mod and go.sum), which this module does not import.
		*b.out = filepath.Join(dir, b.name)
		cmd := exec.Command("go", "build", "-o", *b.out, "./cmd/"+b.name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build ./cmd/%s: %v\n%s", b.name, err, out)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if served, err = scrapeRecwatch(ctx, recwatchBin, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// scrapeRecwatch runs recwatch on an empty recordings root (so it never calls the store, which
// is an unreachable address), reads /metrics once and stops it.
func scrapeRecwatch(ctx context.Context, bin, dir string) (map[string]*dto.MetricFamily, error) {
	recordings := filepath.Join(dir, "recordings")
	if err := os.Mkdir(recordings, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "--root", recordings, "--bucket", "opscheck", "--region", "us-east-1",
		"--endpoint", "http://127.0.0.1:9", "--path-style", "--listen", "127.0.0.1:0", "--log-format", "json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "JIBRI_UPLOAD_METRICS_FILE=none"}
	cmd.Stdout = io.Discard // EMF lines
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start recwatch: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	// The "watching" line names the address it listens on.
	var addr string
	var lines []string
	sc := bufio.NewScanner(stderr)
	for addr == "" && sc.Scan() {
		lines = append(lines, sc.Text())
		var l struct {
			Listen string `json:"listen"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			addr = l.Listen
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	if addr == "" {
		return nil, fmt.Errorf("recwatch printed no listen address: %v", lines)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape recwatch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape recwatch: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse recwatch /metrics: %w", err)
	}
	if len(fams) == 0 {
		return nil, errors.New("recwatch /metrics is empty")
	}
	return fams, nil
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
