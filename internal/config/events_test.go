package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseEvents(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	c := Defaults()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Bind(fs)
	if err := ApplyEnv(fs, func(k string) string { return env[k] }); err != nil {
		return c, err
	}
	if err := fs.Parse(append([]string{"--bucket", "b"}, args...)); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestWebhookFlags(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseEvents(t, map[string]string{"JIBRI_UPLOAD_WEBHOOK": "https://a.example/h?token=T1, https://b.example/h", "JIBRI_UPLOAD_WEBHOOK_SECRET": "from-env"},
		"--webhook", "http://c.example/h", "--link-expiry", "24h")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Events.Endpoints) != 3 || c.Events.Key.Reveal() != "from-env" || c.Events.LinkExpiry.Hours() != 24 {
		t.Fatalf("%+v", c.Events)
	}
	c, err = parseEvents(t, nil, "--webhook", "https://a.example/h", "--webhook-secret-file", secretFile)
	if err != nil || c.Events.Key.Reveal() != "from-file" {
		t.Fatalf("%v", err)
	}
	bad := map[string][]string{
		"no secret":    {"--webhook", "https://a.example/h"},
		"both secrets": {"--webhook", "https://a.example/h", "--webhook-secret", "x", "--webhook-secret-file", secretFile},
		"not http":     {"--webhook", "ftp://a.example/h", "--webhook-secret", "x"},
		"give-up":      {"--webhook-give-up", "10m"},
		"missing file": {"--webhook", "https://a.example/h", "--webhook-secret-file", "/nonexistent/secret"},
	}
	for name, args := range bad {
		if _, err := parseEvents(t, nil, args...); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "from-file") || strings.Contains(err.Error(), "T1") {
			t.Errorf("%s: error shows a secret: %v", name, err)
		}
	}
}

// TestWebhookSecretNeverPrinted: --help shows neither the secret nor a
// URL's token.
func TestWebhookSecretNeverPrinted(t *testing.T) {
	c := Defaults()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var out strings.Builder
	fs.SetOutput(&out)
	c.Bind(fs)
	env := map[string]string{"JIBRI_UPLOAD_WEBHOOK": "https://a.example/h?token=T0KEN", "JIBRI_UPLOAD_WEBHOOK_SECRET": "S3CRET"}
	if err := ApplyEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	fs.PrintDefaults()
	if s := out.String(); strings.Contains(s, "S3CRET") || strings.Contains(s, "T0KEN") || !strings.Contains(s, "JIBRI_UPLOAD_WEBHOOK_SECRET_FILE") {
		t.Fatalf("%s", s)
	}
}
