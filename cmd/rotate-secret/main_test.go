package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/rotation/awsfake"
	"github.com/jitsi-recorder/jibri-s3/internal/testbin"
)

var binary string

// TestMain builds the function once, as make lambda does (norpc: the
// provided.al2023 runtime API only).
func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, &binary, "bootstrap", ".", "-tags", "lambda.norpc"))
}

type outcome struct {
	id, kind string // kind: response or error
	body     string
}

// runtimeAPI is the Lambda Runtime API the bootstrap polls: it hands out one
// queued event per /next and collects each answer.
type runtimeAPI struct {
	events   chan string
	outcomes chan outcome
	mu       sync.Mutex
	seq      int
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const base = "/2018-06-01/runtime/"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base+"invocation/next":
		select {
		case ev := <-a.events:
			a.mu.Lock()
			a.seq++
			id := fmt.Sprintf("req-%d", a.seq)
			a.mu.Unlock()
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(20*time.Second).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:rotate")
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, ev)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, base+"invocation/"):
		rest := strings.TrimPrefix(r.URL.Path, base+"invocation/")
		id, kind, _ := strings.Cut(rest, "/")
		b, _ := io.ReadAll(r.Body)
		a.outcomes <- outcome{id: id, kind: kind, body: string(b)}
		w.WriteHeader(http.StatusAccepted)
	default:
		b, _ := io.ReadAll(r.Body)
		a.outcomes <- outcome{kind: r.URL.Path, body: string(b)}
		w.WriteHeader(http.StatusAccepted)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const current = `{"JICOFO_AUTH_PASSWORD":"OldJicofoAuthPassword00000000000","JVB_AUTH_PASSWORD":"OldJvbAuthPassword00000000000000","JIBRI_XMPP_PASSWORD":"OldJibriXmppPassword000000000000"}`

// TestBootstrapRotates runs the built bootstrap under a fake Runtime API with
// the SDK's endpoint variables pointing at fake Secrets Manager and ECS, and
// sends it the four steps of one rotation, then a step it must refuse.
func TestBootstrapRotates(t *testing.T) {
	sm := awsfake.NewSecretsManager()
	arn := sm.AddSecret("jitsi-video-platform-jitsi-secrets", current, true)
	const token = "7c1e0d9a-1111-4222-8333-944455556666"
	sm.StageVersion("jitsi-video-platform-jitsi-secrets", token)
	ecsFake := awsfake.NewECS("jitsi-video-platform-cluster")
	for _, s := range []string{"core", "jvb", "jibri"} {
		ecsFake.AddService(s, 1, awsfake.RolloutCompletes, 1)
	}
	smSrv, ecsSrv := httptest.NewServer(sm), httptest.NewServer(ecsFake)
	defer smSrv.Close()
	defer ecsSrv.Close()
	api := &runtimeAPI{events: make(chan string, 8), outcomes: make(chan outcome, 8)}
	rtSrv := httptest.NewServer(api)
	defer rtSrv.Close()

	cmd := exec.Command(binary)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(rtSrv.URL, "http://"),
		"AWS_REGION=eu-west-1",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI", "AWS_SESSION_TOKEN=session",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + smSrv.URL,
		"AWS_ENDPOINT_URL_ECS=" + ecsSrv.URL,
		"ECS_CLUSTER=jitsi-video-platform-cluster",
		"ECS_SERVICES=core,jvb,jibri",
		"LOG_LEVEL=debug",
	}
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	invoke := func(step, tok string) outcome {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"Step": step, "SecretId": arn, "ClientRequestToken": tok})
		api.events <- string(b)
		select {
		case o := <-api.outcomes:
			return o
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no answer; stderr:\n%s", step, stderr.String())
		}
		return outcome{}
	}
	for _, step := range []string{"createSecret", "setSecret", "testSecret", "finishSecret"} {
		if o := invoke(step, token); o.kind != "response" || o.body != "null" {
			t.Fatalf("%s: %s %s\nlogs:\n%s", step, o.kind, o.body, stdout.String())
		}
	}
	want := []string{token + ":AWSCURRENT", "v1:AWSPREVIOUS"}
	if got := awsfake.SortedStages(sm.Stages("jitsi-video-platform-jitsi-secrets")); !reflect.DeepEqual(got, want) {
		t.Errorf("stages = %v, want %v", got, want)
	}
	wantEvents := []string{"update core", "completed core", "update jvb", "completed jvb", "update jibri", "completed jibri"}
	if got := ecsFake.Events(); !reflect.DeepEqual(got, wantEvents) {
		t.Errorf("ECS events = %v, want %v", got, wantEvents)
	}
	o := invoke("createSecret", "not-a-version")
	if o.kind != "error" || !strings.Contains(o.body, "token is not staged for rotation") {
		t.Errorf("unstaged token: %s %s", o.kind, o.body)
	}

	logs := stdout.String() + stderr.String()
	for _, v := range append(sm.Generated(), "OldJicofoAuthPassword", "OldJvbAuthPassword", "OldJibriXmppPassword") {
		if strings.Contains(logs, v) || strings.Contains(o.body, v) {
			t.Fatalf("a secret value was logged:\n%s", logs)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["component"] != "rotate-secret" {
			t.Errorf("not a JSON log line of the component: %q", line)
		}
	}
}

func TestBootstrapBadConfig(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no services", []string{"ECS_CLUSTER=c"}, "ECS_SERVICES is empty"},
		{"no cluster", []string{"ECS_SERVICES=core"}, "ECS_CLUSTER is empty"},
		{"bad log level", []string{"ECS_CLUSTER=c", "ECS_SERVICES=core", "LOG_LEVEL=loud"}, "set LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary)
			cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=127.0.0.1:1", "AWS_REGION=eu-west-1"}, tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit = %v, want 1", err)
			}
			if !strings.HasPrefix(stderr.String(), "rotate-secret: ") || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.want)
			}
		})
	}
}
