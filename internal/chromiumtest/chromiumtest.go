// Package chromiumtest drives a real headless Chromium for integration
// tests, through chromedriver's W3C WebDriver HTTP API (no dependency: a
// handful of JSON requests).
//
// The binaries are found through $CHROMIUM_BIN and $CHROMEDRIVER_BIN, then
// /usr/bin/chromium and /usr/bin/chromedriver (Debian's chromium and
// chromium-driver), then $PATH. When either is missing the test is skipped,
// unless JIBRI_S3_REQUIRE_CHROMIUM=1 (set by `make test` and CI), where it
// fails.
//
// Each Start runs its own chromedriver on 127.0.0.1 and one browser session
// with a fresh profile and the flags this machine needs (no background
// networking, no component updates: a closed network otherwise refuses
// Chromium's own connections at every start). The session and the driver
// end with the test.
package chromiumtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Flags are the headless flags every session starts with.
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--autoplay-policy=no-user-gesture-required", "--mute-audio",
}

// Binaries returns the paths of chromium and chromedriver, "" for one not found.
func Binaries() (chromium, driver string) {
	return find("CHROMIUM_BIN", "/usr/bin/chromium", "chromium"), find("CHROMEDRIVER_BIN", "/usr/bin/chromedriver", "chromedriver")
}

func find(env, path, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}

// Require returns both binaries or ends the test: a failure when
// JIBRI_S3_REQUIRE_CHROMIUM=1, a skip otherwise.
func Require(t testing.TB) (chromium, driver string) {
	t.Helper()
	chromium, driver = Binaries()
	if chromium != "" && driver != "" {
		return chromium, driver
	}
	msg := "chromium or chromedriver not found (apt-get install chromium chromium-driver, or set CHROMIUM_BIN and CHROMEDRIVER_BIN)"
	if os.Getenv("JIBRI_S3_REQUIRE_CHROMIUM") == "1" {
		t.Fatal(msg + "; JIBRI_S3_REQUIRE_CHROMIUM=1 makes this a failure")
	}
	t.Skip(msg)
	return "", ""
}

// Browser is one WebDriver session in a running chromedriver.
type Browser struct {
	base    string // http://127.0.0.1:port/session/id
	client  *http.Client
	cmd     *exec.Cmd
	log     *lockedBuffer
	stopped bool
}

// Start runs chromedriver and opens a headless session until the test ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	chromium, driver := Require(t)
	port := freePort(t)
	log := &lockedBuffer{}
	cmd := exec.Command(driver, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1")
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so that Stop can end the browser it started
	// with it even when the session could not be closed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromiumtest: cannot start chromedriver: %v", err)
	}
	b := &Browser{client: &http.Client{Timeout: 2 * time.Minute}, cmd: cmd, log: log}
	t.Cleanup(b.Stop)
	root := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitReady(b.client, root); err != nil {
		t.Fatalf("chromiumtest: chromedriver not ready: %v: %s", err, log.String())
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args":   append(append([]string{}, Flags...), "--user-data-dir="+t.TempDir()),
		},
	}}}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(http.MethodPost, root+"/session", caps, &created); err != nil {
		t.Fatalf("chromiumtest: cannot open a session: %v: %s", err, log.String())
	}
	b.base = root + "/session/" + created.SessionID
	return b
}

func waitReady(c *http.Client, root string) error {
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := c.Get(root + "/status")
		if err != nil {
			last = err
			continue
		}
		var st struct {
			Value struct {
				Ready bool `json:"ready"`
			} `json:"value"`
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err == nil && st.Value.Ready {
			return nil
		}
		last = fmt.Errorf("status: ready=%v, %v", st.Value.Ready, err)
	}
	return last
}

// Navigate loads url and waits for the page load to finish.
func (b *Browser) Navigate(url string) error {
	return b.call(http.MethodPost, b.base+"/url", map[string]any{"url": url}, nil)
}

// ExecuteAsync runs script in the page as an async WebDriver script (its
// last argument is the callback that ends it) and decodes the value it
// passes to the callback into out. The script may run until timeout.
func (b *Browser) ExecuteAsync(script string, timeout time.Duration, out any, args ...any) error {
	if err := b.call(http.MethodPost, b.base+"/timeouts", map[string]any{"script": timeout.Milliseconds()}, nil); err != nil {
		return err
	}
	if args == nil {
		args = []any{}
	}
	return b.call(http.MethodPost, b.base+"/execute/async", map[string]any{"script": script, "args": args}, out)
}

// Stop closes the session (which ends the browser) and chromedriver
// (idempotent).
func (b *Browser) Stop() {
	if b.stopped {
		return
	}
	b.stopped = true
	if b.base != "" {
		_ = b.call(http.MethodDelete, b.base, nil, nil)
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	_ = b.cmd.Wait()
}

// Log returns what chromedriver printed.
func (b *Browser) Log() string { return b.log.String() }

// call makes one WebDriver request; a WebDriver error becomes a Go error.
func (b *Browser) call(method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		buf, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("chromiumtest: %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("chromiumtest: %s %s: %w", method, url, err)
	}
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("chromiumtest: %s %s: undecodable answer %q: %w", method, url, raw, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(env.Value, &e)
		return fmt.Errorf("chromiumtest: %s %s: %s: %s", method, url, e.Error, e.Message)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Value, out); err != nil {
		return fmt.Errorf("chromiumtest: %s %s: cannot decode %s: %w", method, url, env.Value, err)
	}
	return nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
