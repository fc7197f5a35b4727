package rotation

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/rotation/awsfake"
)

const (
	secretName = "jitsi-video-platform-jitsi-secrets"
	cluster    = "jitsi-video-platform-cluster"
	token      = "5f0c2d6e-8b1a-4c3e-9d7f-0a1b2c3d4e5f"
)

// The current secret as terraform writes it (secrets.tf): seven 32-character values.
var currentValues = map[string]string{
	"JICOFO_AUTH_PASSWORD":        "OldJicofoAuthPassword00000000000",
	"JICOFO_COMPONENT_SECRET":     "OldJicofoComponentSecret00000000",
	"JVB_AUTH_PASSWORD":           "OldJvbAuthPassword00000000000000",
	"JIBRI_XMPP_PASSWORD":         "OldJibriXmppPassword000000000000",
	"JIBRI_RECORDER_PASSWORD":     "OldJibriRecorderPassword00000000",
	"JIGASI_XMPP_PASSWORD":        "OldJigasiXmppPassword00000000000",
	"JIGASI_TRANSCRIBER_PASSWORD": "OldJigasiTranscriberPassword0000",
}

func currentJSON() string {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for k, v := range currentValues {
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`"` + k + `":"` + v + `"`)
	}
	b.WriteString("}")
	return b.String()
}

// syncBuffer is a log sink safe for the handler's goroutine and the test's.
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
	return s.b.String()
}

type env struct {
	sm   *awsfake.SecretsManager
	ecs  *awsfake.ECS
	arn  string
	cfg  Config
	logs *syncBuffer
	smc  *secretsmanager.Client
	ecsc *ecs.Client
}

// newEnv: a secret with rotation enabled and the token staged (as RotateSecret
// leaves it before createSecret), and the three services of the stack.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{sm: awsfake.NewSecretsManager(), ecs: awsfake.NewECS(cluster), logs: &syncBuffer{}}
	e.arn = e.sm.AddSecret(secretName, currentJSON(), true)
	e.sm.StageVersion(secretName, token)
	e.ecs.AddService("core", 1, awsfake.RolloutCompletes, 2)
	e.ecs.AddService("jvb", 2, awsfake.RolloutCompletes, 3)
	e.ecs.AddService("jibri", 1, awsfake.RolloutCompletes, 1)
	smSrv := httptest.NewServer(e.sm)
	t.Cleanup(smSrv.Close)
	ecsSrv := httptest.NewServer(e.ecs)
	t.Cleanup(ecsSrv.Close)
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI", "")
	// Built explicitly: no ambient AWS_* configuration reaches the test.
	e.smc = secretsmanager.New(secretsmanager.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(smSrv.URL), Credentials: creds,
		HTTPClient: smSrv.Client(), RetryMaxAttempts: 1,
	})
	e.ecsc = ecs.New(ecs.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(ecsSrv.URL), Credentials: creds,
		HTTPClient: ecsSrv.Client(), RetryMaxAttempts: 1,
	})
	e.cfg = Config{Cluster: cluster, Services: []string{"core", "jvb", "jibri"}, PollInterval: time.Millisecond, DeadlineMargin: -1}
	return e
}

func (e *env) rotator() *Rotator {
	log := zerolog.New(e.logs).Level(zerolog.DebugLevel)
	return New(e.smc, e.ecsc, e.cfg, log)
}

func (e *env) run(ctx context.Context, step string) error {
	return e.rotator().Handle(ctx, events.SecretsManagerSecretRotationEvent{
		Step: step, SecretID: e.arn, ClientRequestToken: token, RotationToken: "rotation-token-abc",
	})
}

func (e *env) mustRun(t *testing.T, steps ...string) {
	t.Helper()
	for _, s := range steps {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := e.run(ctx, s)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// assertNoLeak: neither the old nor any generated value appears in the logs
// or in err.
func (e *env) assertNoLeak(t *testing.T, errs ...error) {
	t.Helper()
	vals := append([]string{"rotation-token-abc"}, e.sm.Generated()...)
	for _, v := range currentValues {
		vals = append(vals, v)
	}
	logs := e.logs.String()
	for _, v := range vals {
		if strings.Contains(logs, v) {
			t.Errorf("a secret value appears in the logs:\n%s", logs)
		}
		for _, err := range errs {
			if err != nil && strings.Contains(err.Error(), v) {
				t.Errorf("a secret value appears in the error: %v", err)
			}
		}
	}
}

var allSteps = []string{StepCreate, StepSet, StepTest, StepFinish}

func eventFor(step, arn, tok string) events.SecretsManagerSecretRotationEvent {
	return events.SecretsManagerSecretRotationEvent{Step: step, SecretID: arn, ClientRequestToken: tok}
}
