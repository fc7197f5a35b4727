package opscheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var lookPath = exec.LookPath

// The merged configuration, as `docker-compose config` prints it: only the fields asserted.
type composeConfig struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image           string                `yaml:"image"`
	Environment     map[string]*string    `yaml:"environment"`
	Volumes         []string              `yaml:"volumes"`
	NetworkMode     string                `yaml:"network_mode"`
	Networks        map[string]any        `yaml:"networks"`
	ReadOnly        bool                  `yaml:"read_only"`
	ShmSize         string                `yaml:"shm_size"`
	Tmpfs           []string              `yaml:"tmpfs"`
	DependsOn       map[string]dependency `yaml:"depends_on"`
	Ports           []any                 `yaml:"ports"` // "host:container" strings, or {published, target} maps
	Command         []string              `yaml:"command"`
	Entrypoint      []string              `yaml:"entrypoint"`
	Healthcheck     map[string]any        `yaml:"healthcheck"`
	StopGracePeriod string                `yaml:"stop_grace_period"`
	Restart         string                `yaml:"restart"`
}

type dependency struct {
	Condition string `yaml:"condition"`
}

// env returns a variable's value and whether it is set to one (a bare upstream name passed
// through from an unset .env entry is nil).
func (s service) env(name string) (string, bool) {
	v, ok := s.Environment[name]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

func valueOf(s service, name string) string {
	v, _ := s.env(name)
	return v
}

// mountAt returns the source mounted at target ("" if none).
func (s service) mountAt(target string) string {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target {
			return parts[0]
		}
	}
	return ""
}

var (
	upstream = []string{
		repoPath("docker", "compose", "testdata", "docker-jitsi-meet", "docker-compose.yml"),
		repoPath("docker", "compose", "testdata", "docker-jitsi-meet", "jibri.yml"),
	}
	overlay      = repoPath("docker", "compose", "jibri-s3.yml")
	minioOverlay = repoPath("docker", "compose", "jibri-s3-minio.yml")
)

// composeRun runs docker-compose config on files with envFile as the .env, in an environment
// holding nothing but PATH and HOME (the shell's variables would win over the .env).
func composeRun(t *testing.T, envFile string, files ...string) (composeConfig, string, error) {
	t.Helper()
	bin := requireTool(t, "DOCKER_COMPOSE", "docker-compose")
	args := []string{"--env-file", envFile}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	cmd := exec.Command(bin, append(args, "config")...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return composeConfig{}, stderr.String(), err
	}
	var c composeConfig
	if err := yaml.Unmarshal(stdout.Bytes(), &c); err != nil {
		t.Fatalf("decode docker-compose config output: %v\n%s", err, stdout.Bytes())
	}
	return c, stderr.String(), nil
}

func mustCompose(t *testing.T, envFile string, files ...string) composeConfig {
	t.Helper()
	c, stderr, err := composeRun(t, envFile, files...)
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, stderr)
	}
	return c
}

// flagVars returns the JIBRI_UPLOAD_* variables a binary's --help names.
func flagVars(t *testing.T, bin string) map[string]bool {
	t.Helper()
	out, _ := exec.Command(bin, "--help").CombinedOutput() // exit code of --help varies; the text is what counts
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile(`\[\$(JIBRI_UPLOAD_[A-Z0-9_]+)\]`).FindAllStringSubmatch(string(out), -1) {
		vars[m[1]] = true
	}
	if len(vars) < 10 {
		t.Fatalf("%s --help names only %d JIBRI_UPLOAD_* variables:\n%s", bin, len(vars), out)
	}
	return vars
}

// envFile writes the lines of a testdata env file, without the named variables, to a temp file.
func envFile(t *testing.T, name string, drop ...string) string {
	t.Helper()
	b, err := os.ReadFile(repoPath("docker", "compose", "testdata", "env", name))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		k, _, _ := strings.Cut(line, "=")
		if !slices.Contains(drop, k) {
			keep = append(keep, line)
		}
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(strings.Join(keep, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestComposeUpstreamAlone(t *testing.T) {
	// The vendored copies are valid on their own: a failure below is the overlay's.
	c := mustCompose(t, envFile(t, "aws.env"), upstream...)
	for _, name := range []string{"web", "prosody", "jicofo", "jvb", "jibri"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("upstream copy has no %s service", name)
		}
	}
}

func TestComposeOverlay(t *testing.T) {
	c := mustCompose(t, envFile(t, "aws.env"), append(upstream, overlay)...)
	jibri, rw := c.Services["jibri"], c.Services["recwatch"]

	t.Run("jibri runs finalize", func(t *testing.T) {
		if jibri.Image != "jibri-s3:stable-11146-2" {
			t.Errorf("jibri image %q, want the jibri-s3 image docker/jibri/build.sh tags", jibri.Image)
		}
		for k, want := range map[string]string{
			"JIBRI_FINALIZE_RECORDING_SCRIPT_PATH": "/usr/local/bin/finalize",
			"JIBRI_RECORDING_DIR":                  "/storage/recordings",
			"JIBRI_UPLOAD_HOLD":                    "auto",
			"JIBRI_UPLOAD_BUCKET":                  "example-recordings",
			"JIBRI_UPLOAD_REGION":                  "eu-west-1",
			"JIBRI_UPLOAD_SSE":                     "aws:kms",
			"JIBRI_UPLOAD_PATH_STYLE":              "", // unset in .env: empty, the flag's default
			"AWS_ACCESS_KEY_ID":                    "AKIAEXAMPLEEXAMPLE00",
			"JIBRI_XMPP_PASSWORD":                  "fedcba9876543210fedcba9876543210", // upstream's entries stay
			"DISPLAY":                              ":0",
		} {
			if got, ok := jibri.env(k); !ok || got != want {
				t.Errorf("jibri %s = %q (set %v), want %q", k, got, ok, want)
			}
		}
	})

	t.Run("jibri keeps upstream's container settings", func(t *testing.T) {
		if !jibri.ReadOnly || jibri.ShmSize != "2gb" || len(jibri.Tmpfs) != 2 {
			t.Errorf("read_only %v, shm_size %q, tmpfs %v: want upstream's true, 2gb and /run + /tmp", jibri.ReadOnly, jibri.ShmSize, jibri.Tmpfs)
		}
		if jibri.mountAt("/config") == "" || jibri.mountAt("/storage") == "" {
			t.Errorf("jibri volumes %v lost upstream's /config or /storage", jibri.Volumes)
		}
		if _, ok := jibri.DependsOn["jicofo"]; !ok {
			t.Errorf("jibri depends_on %v lost jicofo", jibri.DependsOn)
		}
		if _, ok := jibri.Networks["meet.jitsi"]; !ok {
			t.Errorf("jibri networks %v lost meet.jitsi", jibri.Networks)
		}
	})

	t.Run("recwatch shares the recordings volume", func(t *testing.T) {
		if _, ok := c.Services["recwatch"]; !ok {
			t.Fatal("no recwatch service")
		}
		if jibri.mountAt("/storage/recordings") != "recordings" || rw.mountAt("/storage/recordings") != "recordings" {
			t.Errorf("/storage/recordings: jibri mounts %q, recwatch %q; want the named volume recordings in both",
				jibri.mountAt("/storage/recordings"), rw.mountAt("/storage/recordings"))
		}
		if _, ok := c.Volumes["recordings"]; !ok {
			t.Errorf("top-level volumes %v do not declare recordings", c.Volumes)
		}
		// The hook finds the watcher's heartbeat in the parent of the recording it is given.
		if got, _ := rw.env("JIBRI_UPLOAD_ROOT"); got != "/storage/recordings" || got != valueOf(jibri, "JIBRI_RECORDING_DIR") {
			t.Errorf("recwatch JIBRI_UPLOAD_ROOT = %q, Jibri's JIBRI_RECORDING_DIR %q; want both /storage/recordings", got, valueOf(jibri, "JIBRI_RECORDING_DIR"))
		}
	})

	t.Run("recwatch runs beside Jibri", func(t *testing.T) {
		if rw.Image != "recwatch:stable-11146-2" || !rw.ReadOnly {
			t.Errorf("recwatch image %q read_only %v", rw.Image, rw.ReadOnly)
		}
		if rw.NetworkMode != "service:jibri" {
			t.Errorf("recwatch network_mode %q, want service:jibri (Jibri's health API on 127.0.0.1)", rw.NetworkMode)
		}
		if got, _ := rw.env("JIBRI_UPLOAD_LISTEN"); got != "0.0.0.0:9464" {
			t.Errorf("recwatch JIBRI_UPLOAD_LISTEN = %q: Prometheus must reach jibri:9464", got)
		}
		if got, _ := rw.env("JIBRI_UPLOAD_JIBRI_HEALTH_URL"); !strings.HasPrefix(got, "http://127.0.0.1:2222/") {
			t.Errorf("recwatch JIBRI_UPLOAD_JIBRI_HEALTH_URL = %q", got)
		}
		if rw.StopGracePeriod != "120s" {
			t.Errorf("recwatch stop_grace_period %q, want 120s (above the 100 s drain timeout)", rw.StopGracePeriod)
		}
	})

	t.Run("hook and watcher agree on the store", func(t *testing.T) {
		for k := range jibri.Environment {
			if !strings.HasPrefix(k, "JIBRI_UPLOAD_") && !strings.HasPrefix(k, "AWS_") || k == "JIBRI_UPLOAD_DEADLINE" {
				continue // the deadlines differ on purpose (hook 10m, watcher 1h)
			}
			jv, _ := jibri.env(k)
			rv, ok := rw.env(k)
			if !ok || jv != rv {
				t.Errorf("%s: jibri %q, recwatch %q", k, jv, rv)
			}
		}
	})

	t.Run("every JIBRI_UPLOAD_ variable is a flag", func(t *testing.T) {
		for svc, bin := range map[string]string{"jibri": finalizeBin, "recwatch": recwatchBin} {
			vars := flagVars(t, bin)
			for k := range c.Services[svc].Environment {
				if strings.HasPrefix(k, "JIBRI_UPLOAD_") && !vars[k] {
					t.Errorf("%s sets %s, which %s does not read", svc, k, filepath.Base(bin))
				}
			}
		}
	})

	if _, ok := c.Services["minio"]; ok {
		t.Error("the base overlay starts MinIO; it belongs to jibri-s3-minio.yml")
	}
}

func TestComposeMinIO(t *testing.T) {
	c := mustCompose(t, envFile(t, "minio.env"), append(upstream, overlay, minioOverlay)...)
	minio, init := c.Services["minio"], c.Services["minio-init"]

	if !regexp.MustCompile(`^minio/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$`).MatchString(minio.Image) {
		t.Errorf("minio image %q: pin a release", minio.Image)
	}
	if k, _ := minio.env("MINIO_KMS_SECRET_KEY"); !strings.HasPrefix(k, "jibri-s3-key:") {
		t.Errorf("MINIO_KMS_SECRET_KEY %q not passed: SSE-S3 uploads would fail", k)
	}
	for _, p := range minio.Ports {
		if s, ok := p.(string); !ok || !strings.HasPrefix(s, "127.0.0.1:") {
			t.Errorf("minio publishes %v beyond loopback", p)
		}
	}
	if _, ok := minio.Networks["meet.jitsi"]; !ok || len(minio.Healthcheck) == 0 {
		t.Errorf("minio networks %v healthcheck %v", minio.Networks, minio.Healthcheck)
	}

	t.Run("the init job makes a versioned bucket", func(t *testing.T) {
		if init.DependsOn["minio"].Condition != "service_healthy" {
			t.Errorf("minio-init depends_on %v, want minio healthy", init.DependsOn)
		}
		script := strings.Join(init.Command, "\n")
		for _, want := range []string{`mc mb --ignore-existing "store/$$BUCKET"`, `mc version enable "store/$$BUCKET"`, "mc version info"} {
			if !strings.Contains(script, want) {
				t.Errorf("minio-init script lacks %q:\n%s", want, script)
			}
		}
		if b, _ := init.env("BUCKET"); b != "recordings" {
			t.Errorf("minio-init BUCKET %q, want JIBRI_UPLOAD_BUCKET's", b)
		}
		if k, _ := init.env("UPLOADER_KEY"); k != "jibri-s3-uploader" {
			t.Errorf("minio-init UPLOADER_KEY %q", k)
		}
	})

	t.Run("the uploader policy is the AWS stack's", func(t *testing.T) {
		want := uploaderActions(t)
		got := actions(strings.Join(init.Command, "\n"))
		if !slices.Equal(got, want) {
			t.Errorf("MinIO policy actions %v, infra/terraform/iam.tf uploader policy %v", got, want)
		}
	})

	for _, name := range []string{"jibri", "recwatch"} {
		s := c.Services[name]
		t.Run(name+" uses MinIO", func(t *testing.T) {
			if s.DependsOn["minio-init"].Condition != "service_completed_successfully" {
				t.Errorf("depends_on %v, want minio-init completed", s.DependsOn)
			}
			for k, want := range map[string]string{
				"JIBRI_UPLOAD_ENDPOINT":   "http://minio:9000",
				"JIBRI_UPLOAD_PATH_STYLE": "true",
				"JIBRI_UPLOAD_REGION":     "us-east-1",
				"JIBRI_UPLOAD_BUCKET":     "recordings",
				"AWS_ACCESS_KEY_ID":       "jibri-s3-uploader",
				"AWS_SECRET_ACCESS_KEY":   "example-uploader-secret-not-real",
			} {
				if got, _ := s.env(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
	if _, ok := c.Services["jibri"].DependsOn["jicofo"]; !ok {
		t.Error("jibri lost upstream's depends_on jicofo")
	}
}

func TestComposeRequiredSettings(t *testing.T) {
	for _, tc := range []struct {
		name, env, missing string
		files              []string
	}{
		{"bucket", "aws.env", "JIBRI_UPLOAD_BUCKET", append(upstream, overlay)},
		{"minio kms key", "minio.env", "MINIO_KMS_SECRET_KEY", append(upstream, overlay, minioOverlay)},
		{"minio uploader secret", "minio.env", "JIBRI_S3_MINIO_SECRET_KEY", append(upstream, overlay, minioOverlay)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := composeRun(t, envFile(t, tc.env, tc.missing), tc.files...)
			if err == nil || !strings.Contains(stderr, tc.missing) {
				t.Errorf("without %s: err %v, stderr %q; want a failure naming it", tc.missing, err, stderr)
			}
		})
	}
}

// uploaderActions are the S3 actions of the uploader policy in infra/terraform/iam.tf.
func uploaderActions(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(repoPath("infra", "terraform", "iam.tf"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "uploader_policy =")
	end := strings.Index(s[max(start, 0):], "local.task_protection_statement")
	if start < 0 || end < 0 {
		t.Fatal("iam.tf: uploader_policy ... local.task_protection_statement not found")
	}
	a := actions(s[start : start+end])
	if len(a) < 5 {
		t.Fatalf("iam.tf uploader policy: only %v", a)
	}
	return a
}

// actions returns the sorted, distinct "s3:..." strings of a text.
func actions(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`"(s3:[A-Za-z]+)"`).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}
