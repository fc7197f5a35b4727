package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// fakeSecretsManager speaks the Secrets Manager JSON protocol (awsJson1_1):
// POST / with X-Amz-Target: secretsmanager.GetSecretValue and a JSON body.
type fakeSecretsManager struct {
	secrets map[string]string // SecretId -> SecretString
	binary  map[string]bool
	denied  map[string]bool
	calls   int
	lastReq map[string]any
	lastHdr http.Header
}

func (f *fakeSecretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls++
	f.lastHdr = r.Header.Clone()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(code int, typ, msg string) {
		w.Header().Set("X-Amzn-Errortype", typ)
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, typ, msg)
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		fail(400, "InvalidRequestException", "unexpected operation "+r.Header.Get("X-Amz-Target"))
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail(400, "MissingAuthenticationTokenException", "request is not signed")
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.lastReq = nil
	if err := json.Unmarshal(body, &f.lastReq); err != nil {
		fail(400, "SerializationException", "bad body")
		return
	}
	id, _ := f.lastReq["SecretId"].(string)
	switch {
	case f.denied[id]:
		fail(400, "AccessDeniedException", "User is not authorized to perform: secretsmanager:GetSecretValue")
	case f.binary[id]:
		json.NewEncoder(w).Encode(map[string]any{"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + id, "Name": id, "SecretBinary": "AAEC", "VersionId": "v1"})
	default:
		s, ok := f.secrets[id]
		if !ok {
			fail(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + id, "Name": id,
			"SecretString": s, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
		})
	}
}

func newFake(t *testing.T) (*fakeSecretsManager, *secretsmanager.Client) {
	t.Helper()
	f := &fakeSecretsManager{secrets: map[string]string{}, binary: map[string]bool{}, denied: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	// Built explicitly: no ambient AWS_* configuration reaches the test.
	c := secretsmanager.New(secretsmanager.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	return f, c
}

const jitsiSecret = `{"JICOFO_AUTH_PASSWORD":"p4ss-jicofo","JVB_AUTH_PASSWORD":"p4ss-jvb","JIBRI_XMPP_PASSWORD":"p4ss-jibri","JIBRI_RECORDER_PASSWORD":"p4ss-rec"}`

func TestFetch(t *testing.T) {
	f, c := newFake(t)
	f.secrets["jitsi/xmpp"] = jitsiSecret
	f.secrets["typed"] = `{"PORT":5222,"ENABLED":true,"EMPTY":""}`
	f.secrets["array"] = `["a"]`
	f.secrets["nested"] = `{"A":{"b":1}}`
	f.secrets["nullval"] = `{"A":null}`
	f.secrets["badkey"] = `{"1BAD":"x"}`
	f.secrets["dashkey"] = `{"A-B":"x"}`
	f.secrets["notjson"] = `hunter2`
	f.secrets["nul"] = "{\"A\":\"x\\u0000y\"}"
	f.binary["bin"] = true
	f.denied["locked"] = true

	tests := []struct {
		id      string
		want    map[string]Value
		wantErr error
	}{
		{id: "jitsi/xmpp", want: map[string]Value{
			"JICOFO_AUTH_PASSWORD": NewValue("p4ss-jicofo"), "JVB_AUTH_PASSWORD": NewValue("p4ss-jvb"),
			"JIBRI_XMPP_PASSWORD": NewValue("p4ss-jibri"), "JIBRI_RECORDER_PASSWORD": NewValue("p4ss-rec"),
		}},
		{id: "typed", want: map[string]Value{"PORT": NewValue("5222"), "ENABLED": NewValue("true"), "EMPTY": NewValue("")}},
		{id: "missing", wantErr: ErrNotFound},
		{id: "locked", wantErr: ErrAccessDenied},
		{id: "bin", wantErr: ErrFormat},
		{id: "array", wantErr: ErrFormat},
		{id: "nested", wantErr: ErrFormat},
		{id: "nullval", wantErr: ErrFormat},
		{id: "badkey", wantErr: ErrFormat},
		{id: "dashkey", wantErr: ErrFormat},
		{id: "notjson", wantErr: ErrFormat},
		{id: "nul", wantErr: ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := Fetch(context.Background(), c, tt.id)
			if f.lastReq["SecretId"] != tt.id {
				t.Errorf("request SecretId = %v, want %q", f.lastReq["SecretId"], tt.id)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !IsPermanent(err) {
					t.Errorf("IsPermanent(%v) = false", err)
				}
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "p4ss") {
					t.Errorf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %d values, want %d (%v)", len(got), len(tt.want), keysOf(got))
			}
		})
	}
}

func TestFetchTransportErrorIsNotPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"__type":"InternalServiceError","message":"try later"}`)
	}))
	defer srv.Close()
	c := secretsmanager.New(secretsmanager.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "x", ""),
	})
	_, err := Fetch(context.Background(), c, "any")
	if err == nil || IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

func keysOf(m map[string]Value) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestValueIsRedacted(t *testing.T) {
	v := NewValue("p4ss-jicofo")
	m := map[string]Value{"K": v}
	for _, s := range []string{
		fmt.Sprint(v), fmt.Sprintf("%s %v %+v %#v %q", v, v, v, v, v), fmt.Sprint(m), fmt.Sprintf("%#v", m),
	} {
		if strings.Contains(s, "p4ss") {
			t.Errorf("value printed: %s", s)
		}
	}
	if v.Reveal() != "p4ss-jicofo" {
		t.Errorf("Reveal = %q", v.Reveal())
	}
}

func TestWriteEnvDir(t *testing.T) {
	dir := t.TempDir()
	// Set by the container environment (e.g. ECS secrets): kept unless overwrite.
	if err := os.WriteFile(filepath.Join(dir, "JVB_AUTH_PASSWORD"), []byte("from-ecs"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Passed through empty (docker-jitsi-meet's env.example): not set, so the secret fills it.
	if err := os.WriteFile(filepath.Join(dir, "JIBRI_XMPP_PASSWORD"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	vals := map[string]Value{"JICOFO_AUTH_PASSWORD": NewValue("a"), "JVB_AUTH_PASSWORD": NewValue("b"), "EMPTY": NewValue(""), "JIBRI_XMPP_PASSWORD": NewValue("c")}

	res, err := WriteEnvDir(dir, vals, false)
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(dir, "JIBRI_XMPP_PASSWORD"), "c")
	if want := []string{"EMPTY", "JIBRI_XMPP_PASSWORD", "JICOFO_AUTH_PASSWORD"}; !reflect.DeepEqual(res.Written, want) {
		t.Errorf("written = %v, want %v", res.Written, want)
	}
	if want := []string{"JVB_AUTH_PASSWORD"}; !reflect.DeepEqual(res.Skipped, want) {
		t.Errorf("skipped = %v, want %v", res.Skipped, want)
	}
	assertFile(t, filepath.Join(dir, "JICOFO_AUTH_PASSWORD"), "a")
	assertFile(t, filepath.Join(dir, "JVB_AUTH_PASSWORD"), "from-ecs")
	assertFile(t, filepath.Join(dir, "EMPTY"), "")
	st, err := os.Stat(filepath.Join(dir, "JICOFO_AUTH_PASSWORD"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v; want 0600", st.Mode(), err)
	}
	if s := res.Summary(dir); strings.Contains(s, "from-ecs") || !strings.Contains(s, "JICOFO_AUTH_PASSWORD") {
		t.Errorf("summary = %q", s)
	}

	res, err = WriteEnvDir(dir, vals, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 4 || len(res.Skipped) != 0 {
		t.Errorf("overwrite: %+v", res)
	}
	assertFile(t, filepath.Join(dir, "JVB_AUTH_PASSWORD"), "b")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("%d entries in dir, want 4 (no temp files left)", len(entries))
	}
}

func TestWriteEnvDirMissing(t *testing.T) {
	_, err := WriteEnvDir(filepath.Join(t.TempDir(), "nope"), map[string]Value{"A": NewValue("x")}, false)
	if err == nil {
		t.Fatal("want an error for a missing directory")
	}
}

func TestSelect(t *testing.T) {
	vals := map[string]Value{"A": NewValue("1"), "B": NewValue("2")}
	got, err := Select(vals, []string{"A"})
	if err != nil || len(got) != 1 || got["A"].Reveal() != "1" {
		t.Errorf("Select = %v, %v", keysOf(got), err)
	}
	if _, err := Select(vals, []string{"A", "C"}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "C") {
		t.Errorf("Select missing = %v", err)
	}
	if got, _ := Select(vals, nil); len(got) != 2 {
		t.Errorf("Select(nil) kept %d", len(got))
	}
}

// TestEndToEnd: fetch over the wire, then write, as `finalize secrets` does.
func TestEndToEnd(t *testing.T) {
	f, c := newFake(t)
	f.secrets["arn:aws:secretsmanager:eu-west-1:123456789012:secret:jitsi-prod-xmpp-AbCdEf"] = jitsiSecret
	vals, err := Fetch(context.Background(), c, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jitsi-prod-xmpp-AbCdEf")
	if err != nil {
		t.Fatal(err)
	}
	vals, err = Select(vals, []string{"JIBRI_XMPP_PASSWORD", "JIBRI_RECORDER_PASSWORD"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := WriteEnvDir(dir, vals, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 2 {
		t.Errorf("written %v", res.Written)
	}
	assertFile(t, filepath.Join(dir, "JIBRI_RECORDER_PASSWORD"), "p4ss-rec")
	if f.calls != 1 {
		t.Errorf("%d calls, want 1", f.calls)
	}
	if !strings.Contains(f.lastHdr.Get("Authorization"), "/secretsmanager/aws4_request") {
		t.Errorf("not signed for secretsmanager: %q", f.lastHdr.Get("Authorization"))
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("%s = %q, want %q", filepath.Base(path), b, want)
	}
}
