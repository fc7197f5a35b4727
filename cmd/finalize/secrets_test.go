package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestSecretsSubcommand runs the built binary against a server speaking the
// Secrets Manager JSON protocol, the way the image's init runs it outside ECS.
func TestSecretsSubcommand(t *testing.T) {
	const password = "xmpp-Pa55word-never-printed"
	var (
		mu      sync.Mutex
		targets []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		targets = append(targets, r.Header.Get("X-Amz-Target"))
		mu.Unlock()
		var in struct{ SecretId string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if in.SecretId != "jitsi/prod" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
			return
		}
		secret, _ := json.Marshal(map[string]string{"JIBRI_XMPP_PASSWORD": password, "JIBRI_RECORDER_PASSWORD": password + "2"})
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": "arn:aws:secretsmanager:us-east-1:1:secret:jitsi/prod", "Name": "jitsi/prod", "SecretString": string(secret)})
	}))
	defer srv.Close()

	dir := t.TempDir()
	env := baseEnv(t, "http://127.0.0.1:1", "JIBRI_SECRETS_ENDPOINT="+srv.URL)
	r := runBinary(t, env, nil, "secrets", "--secret-id", "jitsi/prod", "--dir", dir)
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, password) {
		t.Fatal("a secret value was printed")
	}
	b, err := os.ReadFile(filepath.Join(dir, "JIBRI_XMPP_PASSWORD"))
	if err != nil || string(b) != password {
		t.Fatalf("JIBRI_XMPP_PASSWORD = %q, %v", b, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "JIBRI_XMPP_PASSWORD")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	mu.Lock()
	if len(targets) == 0 || targets[0] != "secretsmanager.GetSecretValue" {
		t.Errorf("requests %v", targets)
	}
	mu.Unlock()

	r = runBinary(t, env, nil, "secrets", "--secret-id", "jitsi/missing", "--dir", t.TempDir())
	if r.code != exitInternal || !strings.Contains(r.stderr, "hint:") {
		t.Errorf("missing secret: exit %d\n%s", r.code, r.stderr)
	}
	if r = runBinary(t, env, nil, "secrets"); r.code != exitUsage {
		t.Errorf("no secret id: exit %d, want %d", r.code, exitUsage)
	}
}
