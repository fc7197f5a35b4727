package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/jitsi-recorder/jibri-s3/internal/rotation/awsfake"
)

var rolledInOrder = []string{"update core", "completed core", "update jvb", "completed jvb", "update jibri", "completed jibri"}

func decode(t *testing.T, s string) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object of strings: %v", err)
	}
	return m
}

// assertRotated: AWSCURRENT is the token's version with a new value for every
// key, the old version is AWSPREVIOUS, and no AWSPENDING is left.
func assertRotated(t *testing.T, e *env) {
	t.Helper()
	want := []string{token + ":AWSCURRENT", "v1:AWSPREVIOUS"}
	if got := awsfake.SortedStages(e.sm.Stages(secretName)); !reflect.DeepEqual(got, want) {
		t.Errorf("stages = %v, want %v", got, want)
	}
	cur := decode(t, e.sm.Value(secretName, "AWSCURRENT"))
	if len(cur) != len(currentValues) {
		t.Errorf("new version has %d keys, want %d", len(cur), len(currentValues))
	}
	for k, old := range currentValues {
		v := cur[k]
		if !validPassword(v) || v == old {
			t.Errorf("%s not rotated to a 32-character alphanumeric value (len %d, same as old: %v)", k, len(v), v == old)
		}
	}
}

func TestFullRotation(t *testing.T) {
	e := newEnv(t)
	e.mustRun(t, allSteps...)
	assertRotated(t, e)
	if got := e.ecs.Events(); !reflect.DeepEqual(got, rolledInOrder) {
		t.Errorf("ECS events = %v, want %v", got, rolledInOrder)
	}
	puts := e.sm.Bodies("PutSecretValue")
	if len(puts) != 1 {
		t.Fatalf("%d PutSecretValue calls, want 1", len(puts))
	}
	if puts[0]["ClientRequestToken"] != token || puts[0]["RotationToken"] != "rotation-token-abc" ||
		!reflect.DeepEqual(puts[0]["VersionStages"], []any{"AWSPENDING"}) {
		t.Errorf("PutSecretValue = token %v, rotation token set %v, stages %v", puts[0]["ClientRequestToken"], puts[0]["RotationToken"] != nil, puts[0]["VersionStages"])
	}
	for _, g := range e.sm.Bodies("GetRandomPassword") {
		if g["PasswordLength"] != float64(32) || g["ExcludePunctuation"] != true {
			t.Errorf("GetRandomPassword request = %v", g)
		}
	}
	if n := len(e.sm.Generated()); n != len(currentValues) {
		t.Errorf("%d random passwords drawn, want %d", n, len(currentValues))
	}
	e.assertNoLeak(t)
	for _, want := range []string{`"step":"createSecret"`, `"service":"jibri"`, `"keys":["JIBRI_RECORDER_PASSWORD"`} {
		if !strings.Contains(e.logs.String(), want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

// TestStepRetried runs the rotation with one step invoked twice, or failing
// once after its change took effect, and expects the same end state.
func TestStepRetried(t *testing.T) {
	lost := func(op string, n int) func(*env) {
		return func(e *env) {
			seen := 0
			e.sm.Intercept = func(o string, _ map[string]any) *awsfake.Fault {
				if o != op {
					return nil
				}
				seen++
				if seen == n {
					return &awsfake.Fault{Status: 500, Type: "InternalServiceError", Apply: true}
				}
				return nil
			}
		}
	}
	tests := []struct {
		name    string
		setup   func(*env)
		steps   []string // run in order; an error is allowed only where failOK says
		failOK  map[int]bool
		wantPut int
	}{
		{name: "createSecret twice", steps: []string{StepCreate, StepCreate, StepSet, StepTest, StepFinish}, wantPut: 1},
		{name: "setSecret twice", steps: []string{StepCreate, StepSet, StepSet, StepTest, StepFinish}, wantPut: 1},
		{name: "testSecret twice", steps: []string{StepCreate, StepSet, StepTest, StepTest, StepFinish}, wantPut: 1},
		{name: "finishSecret twice", steps: []string{StepCreate, StepSet, StepTest, StepFinish, StepFinish}, wantPut: 1},
		{name: "every step after the rotation", steps: append(slices.Clone(allSteps), allSteps...), wantPut: 1},
		{
			name: "PutSecretValue answer lost", setup: lost("PutSecretValue", 1),
			steps: []string{StepCreate, StepCreate, StepSet, StepTest, StepFinish}, failOK: map[int]bool{0: true}, wantPut: 1,
		},
		{
			name: "AWSCURRENT move answer lost", setup: lost("UpdateSecretVersionStage", 1),
			steps: []string{StepCreate, StepSet, StepTest, StepFinish, StepFinish}, failOK: map[int]bool{3: true}, wantPut: 1,
		},
		{
			name: "AWSPENDING removal answer lost", setup: lost("UpdateSecretVersionStage", 2),
			steps: []string{StepCreate, StepSet, StepTest, StepFinish, StepFinish}, failOK: map[int]bool{3: true}, wantPut: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			var errs []error
			for i, s := range tt.steps {
				err := e.run(context.Background(), s)
				errs = append(errs, err)
				if err != nil && !tt.failOK[i] {
					t.Fatalf("step %d (%s): %v", i, s, err)
				}
				if err == nil && tt.failOK[i] {
					t.Fatalf("step %d (%s) succeeded; the fault was not injected", i, s)
				}
			}
			assertRotated(t, e)
			if got := e.ecs.Events(); !reflect.DeepEqual(got, rolledInOrder) {
				t.Errorf("ECS events = %v, want each service restarted once: %v", got, rolledInOrder)
			}
			if n := len(e.sm.Bodies("PutSecretValue")); n != tt.wantPut {
				t.Errorf("%d PutSecretValue calls, want %d", n, tt.wantPut)
			}
			e.assertNoLeak(t, errs...)
		})
	}
}

// TestSDKRetryReplaysPut: with the SDK's retryer on (as in the function), a
// PutSecretValue whose answer is lost is sent again with the same token and
// value, which Secrets Manager accepts as the same version.
func TestSDKRetryReplaysPut(t *testing.T) {
	e := newEnv(t)
	e.smc = secretsmanager.New(e.smc.Options(), func(o *secretsmanager.Options) {
		o.RetryMaxAttempts = 0 // else it caps the retryer below at 1
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			so.RateLimiter = ratelimit.None
		})
	})
	lostOnce := false
	e.sm.Intercept = func(op string, _ map[string]any) *awsfake.Fault {
		if op == "PutSecretValue" && !lostOnce {
			lostOnce = true
			return &awsfake.Fault{Status: 500, Type: "InternalServiceError", Apply: true}
		}
		return nil
	}
	e.mustRun(t, allSteps...)
	puts := e.sm.Bodies("PutSecretValue")
	if len(puts) != 2 || !reflect.DeepEqual(puts[0], puts[1]) {
		t.Fatalf("%d PutSecretValue requests, want 2 identical ones", len(puts))
	}
	assertRotated(t, e)
	e.assertNoLeak(t)
}

// TestFinishResumesRollout: finishSecret runs out of time while jibri rolls
// out; the retry restarts neither core nor jvb again and waits for the jibri
// deployment already under way instead of forcing another.
func TestFinishResumesRollout(t *testing.T) {
	e := newEnv(t)
	e.ecs.SetRollout("jibri", awsfake.RolloutNever, 0)
	e.mustRun(t, StepCreate, StepSet, StepTest)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := e.run(ctx, StepFinish)
	cancel()
	if !errors.Is(err, ErrNotStable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("finishSecret = %v, want ErrNotStable and the deadline", err)
	}
	if !strings.Contains(err.Error(), "service jibri") || !strings.Contains(err.Error(), "IN_PROGRESS") {
		t.Errorf("error does not say which service and how far: %v", err)
	}
	e.ecs.SetRollout("jibri", awsfake.RolloutCompletes, 2)
	e.mustRun(t, StepFinish)
	assertRotated(t, e)
	if got := e.ecs.Events(); !reflect.DeepEqual(got, rolledInOrder) {
		t.Errorf("ECS events = %v, want %v", got, rolledInOrder)
	}
	e.assertNoLeak(t, err)
}

// TestFailedTestSecret: a bad pending version fails testSecret, names the
// keys, never the values, and AWSCURRENT stays where it was.
func TestFailedTestSecret(t *testing.T) {
	tests := []struct {
		name    string
		pending func(map[string]string) string
		want    string
	}{
		{"missing key", func(m map[string]string) string { delete(m, "JVB_AUTH_PASSWORD"); return enc(m) }, "missing key(s) JVB_AUTH_PASSWORD"},
		{"empty value", func(m map[string]string) string { m["JIBRI_XMPP_PASSWORD"] = ""; return enc(m) }, "empty value(s) for JIBRI_XMPP_PASSWORD"},
		{"not rotated", func(m map[string]string) string {
			m["JICOFO_AUTH_PASSWORD"] = currentValues["JICOFO_AUTH_PASSWORD"]
			return enc(m)
		}, "not rotated for JICOFO_AUTH_PASSWORD"},
		{"not JSON", func(m map[string]string) string { return "JVB_AUTH_PASSWORD=" + m["JVB_AUTH_PASSWORD"] }, "not a JSON object"},
		{"number value", func(m map[string]string) string {
			return strings.Replace(enc(m), `"JVB_AUTH_PASSWORD":"`+m["JVB_AUTH_PASSWORD"]+`"`, `"JVB_AUTH_PASSWORD":12345678`, 1)
		}, "JVB_AUTH_PASSWORD does not hold a string"},
		{"control character", func(m map[string]string) string { m["JVB_AUTH_PASSWORD"] += "\n"; return enc(m) }, "JVB_AUTH_PASSWORD holds a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.mustRun(t, StepCreate, StepSet)
			m := decode(t, e.sm.Value(secretName, "AWSPENDING"))
			e.sm.SetValue(secretName, token, tt.pending(m))
			err := e.run(context.Background(), StepTest)
			if !errors.Is(err, ErrInvalidSecret) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("testSecret = %v, want ErrInvalidSecret with %q", err, tt.want)
			}
			want := []string{token + ":AWSPENDING", "v1:AWSCURRENT"}
			if got := awsfake.SortedStages(e.sm.Stages(secretName)); !reflect.DeepEqual(got, want) {
				t.Errorf("stages = %v, want %v", got, want)
			}
			if got := e.sm.Value(secretName, "AWSCURRENT"); got != currentJSON() && !reflect.DeepEqual(decode(t, got), currentValues) {
				t.Error("AWSCURRENT value changed")
			}
			if n := len(e.ecs.Events()); n != 0 {
				t.Errorf("%d ECS events, want none", n)
			}
			e.assertNoLeak(t, err)
			for _, v := range m {
				if v != "" && (strings.Contains(e.logs.String(), v) || strings.Contains(err.Error(), v)) {
					t.Error("a pending value leaked")
				}
			}
		})
	}
}

func enc(m map[string]string) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// TestPreconditions: every step refuses to act on a secret without rotation
// or on a token that is not staged, and calls nothing but DescribeSecret.
func TestPreconditions(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*env)
		token   string
		step    string
		wantErr error
	}{
		{name: "rotation disabled", setup: func(e *env) {
			e.arn = e.sm.AddSecret("plain", currentJSON(), false)
			e.sm.StageVersion("plain", token)
		}, wantErr: ErrRotationDisabled},
		{name: "token not a version", token: "0e2b1f3a-0000-4000-8000-000000000000", wantErr: ErrNotStaged},
		{name: "token AWSPREVIOUS only", setup: func(e *env) {
			e.mustRun(t, allSteps...) // v1 is now AWSPREVIOUS
		}, token: "v1", wantErr: ErrNotStaged},
		{name: "unknown step", step: "rollbackSecret", wantErr: ErrUnknownStep},
		{name: "missing secret", setup: func(e *env) { e.arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:nope" }},
	}
	for _, tt := range tests {
		steps := allSteps
		if tt.step != "" {
			steps = []string{tt.step}
		}
		for _, step := range steps {
			t.Run(tt.name+"/"+step, func(t *testing.T) {
				e := newEnv(t)
				if tt.setup != nil {
					tt.setup(e)
				}
				before := len(e.sm.Calls())
				tok := token
				if tt.token != "" {
					tok = tt.token
				}
				err := e.rotator().Handle(context.Background(), eventFor(step, e.arn, tok))
				if err == nil {
					t.Fatal("want an error")
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !IsPermanent(err) {
					t.Errorf("IsPermanent(%v) = false", err)
				}
				for _, c := range e.sm.Calls()[before:] {
					if c != "DescribeSecret" {
						t.Errorf("called %s", c)
					}
				}
				if !strings.Contains(e.logs.String(), `"level":"error"`) {
					t.Error("the failure was not logged")
				}
			})
		}
	}
}

// TestServiceNotStable: a deployment that never finishes ends finishSecret
// with an error at the deadline (logged, naming the service), and later
// services are not touched; a deployment ECS marks FAILED ends it at once.
func TestServiceNotStable(t *testing.T) {
	tests := []struct {
		name    string
		rollout awsfake.Rollout
		wantErr error
		events  []string
	}{
		{"never stable", awsfake.RolloutNever, ErrNotStable, []string{"update core", "completed core", "update jvb"}},
		{"rollout failed", awsfake.RolloutFails, ErrDeploymentFailed, []string{"update core", "completed core", "update jvb", "failed jvb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.ecs.SetRollout("jvb", tt.rollout, 2)
			e.cfg.DeadlineMargin = 100 * time.Millisecond
			e.mustRun(t, StepCreate, StepSet, StepTest)
			ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := e.run(ctx, StepFinish)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), "service jvb") {
				t.Fatalf("finishSecret = %v, want %v for jvb", err, tt.wantErr)
			}
			if tt.rollout == awsfake.RolloutNever && time.Since(start) > 550*time.Millisecond {
				t.Errorf("returned after %v: the deadline margin was not kept", time.Since(start))
			}
			if got := e.ecs.Events(); !reflect.DeepEqual(got, tt.events) {
				t.Errorf("ECS events = %v, want %v", got, tt.events)
			}
			if !loggedError(e.logs.String(), "jvb") {
				t.Errorf("no error logged for jvb:\n%s", e.logs.String())
			}
			e.assertNoLeak(t, err)
		})
	}
}

func TestServiceErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*env)
		want  string
	}{
		{"missing service", func(e *env) { e.cfg.Services = []string{"core", "jigasi"} }, "service jigasi in cluster " + cluster},
		{"wrong cluster", func(e *env) { e.cfg.Cluster = "other" }, "ClusterNotFoundException"},
		{"update denied", func(e *env) {
			e.ecs.Intercept = func(op string, _ map[string]any) *awsfake.Fault {
				if op == "UpdateService" {
					return &awsfake.Fault{Type: "AccessDeniedException"}
				}
				return nil
			}
		}, "service core: cannot force a new deployment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(e)
			e.mustRun(t, StepCreate, StepSet, StepTest)
			err := e.run(context.Background(), StepFinish)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("finishSecret = %v, want %q", err, tt.want)
			}
			if !IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = false", err)
			}
		})
	}
}

// TestKeyPlan: SECRET_KEYS adds keys the current version lacks; SECRET_KEEP_KEYS
// copies values shared with systems outside the stack.
func TestKeyPlan(t *testing.T) {
	e := newEnv(t)
	e.cfg.Required = []string{"TURN_PASSWORD_NEW"}
	e.cfg.Keep = []string{"JIGASI_XMPP_PASSWORD"}
	e.mustRun(t, allSteps...)
	cur := decode(t, e.sm.Value(secretName, "AWSCURRENT"))
	if cur["JIGASI_XMPP_PASSWORD"] != currentValues["JIGASI_XMPP_PASSWORD"] {
		t.Error("kept key was rotated")
	}
	if !validPassword(cur["TURN_PASSWORD_NEW"]) {
		t.Error("required key was not added")
	}
	if len(cur) != len(currentValues)+1 || len(e.sm.Generated()) != len(currentValues) {
		t.Errorf("%d keys, %d generated", len(cur), len(e.sm.Generated()))
	}

	e = newEnv(t)
	e.cfg.Keep = []string{"NOT_THERE"}
	if err := e.run(context.Background(), StepCreate); !errors.Is(err, ErrInvalidSecret) || !strings.Contains(err.Error(), "NOT_THERE") {
		t.Errorf("keep of an absent key = %v", err)
	}
}

func TestGeneratedValueChecked(t *testing.T) {
	e := newEnv(t)
	e.sm.Intercept = func(op string, body map[string]any) *awsfake.Fault {
		if op == "GetRandomPassword" {
			body["PasswordLength"] = float64(8) // the service answers a shorter value than asked
		}
		return nil
	}
	err := e.run(context.Background(), StepCreate)
	if !errors.Is(err, ErrInvalidSecret) || !strings.Contains(err.Error(), "not 32 letters and digits") {
		t.Fatalf("createSecret = %v", err)
	}
	if n := len(e.sm.Bodies("PutSecretValue")); n != 0 {
		t.Errorf("%d PutSecretValue calls after a bad value", n)
	}
	e.assertNoLeak(t, err)
}

// loggedError reports whether a log line at level error names service.
func loggedError(logs, service string) bool {
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["level"] == "error" && m["service"] == service {
			return true
		}
	}
	return false
}
