package dockerfiletest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

type dockerfile struct {
	stages   []instructions.Stage
	metaArgs map[string]string
	warnings []string
}

func load(t *testing.T, name string) dockerfile {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", name))
	if err != nil {
		t.Fatal(err)
	}
	ast, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		t.Fatalf("%s: parse: %v", name, err)
	}
	var d dockerfile
	for _, w := range ast.Warnings {
		d.warnings = append(d.warnings, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, _ []parser.Range) {
		d.warnings = append(d.warnings, rule+": "+msg)
	}})
	stages, metaArgs, err := instructions.Parse(ast.AST, lint)
	if err != nil {
		t.Fatalf("%s: instructions: %v", name, err)
	}
	d.stages = stages
	d.metaArgs = map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				d.metaArgs[kv.Key] = *kv.Value
			}
		}
	}
	return d
}

func (d dockerfile) final() instructions.Stage { return d.stages[len(d.stages)-1] }

func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func lastUser(t *testing.T, s instructions.Stage) string {
	t.Helper()
	users := commands[*instructions.UserCommand](s)
	if len(users) == 0 {
		t.Fatalf("stage %q sets no USER", s.Name)
	}
	return users[len(users)-1].User
}

func env(s instructions.Stage) map[string]string {
	m := map[string]string{}
	for _, e := range commands[*instructions.EnvCommand](s) {
		for _, kv := range e.Env {
			m[kv.Key] = kv.Value
		}
	}
	return m
}

var secretName = regexp.MustCompile(`(?i)(PASSWORD|SECRET|TOKEN|PRIVATE|ACCESS_KEY|CREDENTIAL)`)

// checkCommon: properties both images promise.
func checkCommon(t *testing.T, name string, d dockerfile) {
	t.Helper()
	if len(d.warnings) > 0 {
		t.Errorf("%s: lint warnings: %v", name, d.warnings)
	}
	if len(d.stages) < 2 || d.stages[0].Name != "build" {
		t.Fatalf("%s: want a multi-stage build starting with stage \"build\"", name)
	}
	build := d.stages[0]
	var goBuild string
	for _, r := range commands[*instructions.RunCommand](build) {
		if s := strings.Join(r.CmdLine, " "); strings.Contains(s, "go build") {
			goBuild = s
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X github.com/jitsi-recorder/jibri-s3/internal/version.Version=${VERSION}"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("%s: go build lacks %q: %s", name, want, goBuild)
		}
	}
	// "1000:1000" would drop the supplementary groups of user s6 (Docker sets exactly the given
	// group then); upstream uses the user alone.
	if u := lastUser(t, d.final()); u != "1000" && u != "s6" {
		t.Errorf("%s: final USER = %q, want 1000 or s6 (Jibri's s6 user, without a group)", name, u)
	}
	// The Go toolchain image is pinned to the patch release go.mod names.
	if img, want := d.metaArgs["GO_IMAGE"], "golang:"+goVersion(t)+"-trixie"; img != want {
		t.Errorf("%s: GO_IMAGE = %q, want %q (the go.mod toolchain, pinned)", name, img, want)
	}
	// No secret in a layer: no ENV or ARG that looks like one, no ADD from a URL, no .env copied.
	for _, s := range d.stages {
		for k := range env(s) {
			if secretName.MatchString(k) {
				t.Errorf("%s: ENV %s in stage %q would bake a secret into a layer", name, k, s.Name)
			}
		}
		for _, a := range commands[*instructions.ArgCommand](s) {
			for _, kv := range a.Args {
				if secretName.MatchString(kv.Key) {
					t.Errorf("%s: ARG %s would leak into the image history", name, kv.Key)
				}
			}
		}
		if adds := commands[*instructions.AddCommand](s); len(adds) > 0 {
			t.Errorf("%s: use COPY, not ADD", name)
		}
		for _, c := range commands[*instructions.CopyCommand](s) {
			for _, src := range c.SourcePaths {
				if strings.Contains(src, ".env") || strings.Contains(src, "credentials") {
					t.Errorf("%s: COPY %s may copy secrets", name, src)
				}
			}
		}
	}
	for k := range d.metaArgs {
		if secretName.MatchString(k) {
			t.Errorf("%s: ARG %s would leak into the image history", name, k)
		}
	}
}

func TestJibriDockerfile(t *testing.T) {
	d := load(t, "Dockerfile")
	checkCommon(t, "Dockerfile", d)

	tag := d.metaArgs["JITSI_TAG"]
	if !regexp.MustCompile(`^stable-\d+(-\d+)?$`).MatchString(tag) {
		t.Errorf("JITSI_TAG = %q: pin a release tag (stable-NNNNN[-N])", tag)
	}
	if img := d.metaArgs["JITSI_IMAGE"]; img != "ghcr.io/jitsi/jibri" {
		t.Errorf("JITSI_IMAGE = %q, want ghcr.io/jitsi/jibri (images moved to GHCR in stable-11146)", img)
	}
	final := d.final()
	if final.BaseName != "${JITSI_IMAGE}:${JITSI_TAG}" {
		t.Errorf("final stage FROM %q, want ${JITSI_IMAGE}:${JITSI_TAG}", final.BaseName)
	}
	e := env(final)
	if e["JIBRI_FINALIZE_RECORDING_SCRIPT_PATH"] != "/usr/local/bin/finalize" {
		t.Errorf("JIBRI_FINALIZE_RECORDING_SCRIPT_PATH = %q", e["JIBRI_FINALIZE_RECORDING_SCRIPT_PATH"])
	}
	if e["JIBRI_RECORDING_DIR"] != "/storage/recordings" {
		t.Errorf("JIBRI_RECORDING_DIR = %q, want /storage/recordings (stable-11146+)", e["JIBRI_RECORDING_DIR"])
	}

	// Executables must be executable in the image: a read-only root forbids chmod at start.
	var binaries, initScript, storage bool
	for _, c := range commands[*instructions.CopyCommand](final) {
		switch {
		case c.DestPath == "/usr/local/bin/":
			binaries = c.From == "build" && c.Chmod == "0755" &&
				strings.Join(c.SourcePaths, " ") == "/out/finalize /out/recwatch"
		case strings.HasPrefix(c.DestPath, "/etc/cont-init.d/"):
			initScript = c.Chmod == "0755"
		case c.DestPath == "/storage":
			storage = c.Chown == "1000:1000"
		}
	}
	if !binaries {
		t.Error("finalize and recwatch must be copied from the build stage to /usr/local/bin/ with --chmod=0755")
	}
	if !initScript {
		t.Error("the secrets init script must be copied to /etc/cont-init.d/ with --chmod=0755")
	}
	if !storage {
		t.Error("/storage must be owned by uid 1000 so a fresh volume there is writable by Jibri")
	}
}

func TestRecwatchDockerfile(t *testing.T) {
	d := load(t, "Dockerfile.recwatch")
	checkCommon(t, "Dockerfile.recwatch", d)
	final := d.final()
	if final.BaseName != "scratch" {
		t.Errorf("recwatch base = %q, want scratch (a static binary needs nothing else)", final.BaseName)
	}
	ep := commands[*instructions.EntrypointCommand](final)
	if len(ep) != 1 || !ep[0].PrependShell && strings.Join(ep[0].CmdLine, " ") != "/recwatch" {
		t.Errorf("ENTRYPOINT must be [\"/recwatch\"] (exec form)")
	}
	var certs, storage bool
	for _, c := range commands[*instructions.CopyCommand](final) {
		switch c.DestPath {
		case "/etc/ssl/certs/ca-certificates.crt":
			certs = true
		case "/storage":
			storage = c.Chown == "1000:1000"
		}
	}
	if !storage {
		t.Error("/storage must be owned by uid 1000 in the sidecar too: it may be the first to mount the recordings volume")
	}
	if !certs {
		t.Error("the sidecar needs CA certificates to reach S3 over TLS")
	}
}

func TestConfwatchDockerfile(t *testing.T) {
	d := load(t, "Dockerfile.confwatch")
	checkCommon(t, "Dockerfile.confwatch", d)
	final := d.final()
	if final.BaseName != "scratch" {
		t.Errorf("confwatch base = %q, want scratch", final.BaseName)
	}
	ep := commands[*instructions.EntrypointCommand](final)
	if len(ep) != 1 || ep[0].PrependShell || strings.Join(ep[0].CmdLine, " ") != "/confwatch" {
		t.Errorf("ENTRYPOINT must be [\"/confwatch\"] (exec form)")
	}
	var built bool
	for _, r := range commands[*instructions.RunCommand](d.stages[0]) {
		built = built || strings.Contains(strings.Join(r.CmdLine, " "), "-o /out/confwatch ./cmd/confwatch")
	}
	if !built {
		t.Error("the build stage must build ./cmd/confwatch")
	}
	var binary bool
	for _, c := range commands[*instructions.CopyCommand](final) {
		binary = binary || (c.DestPath == "/confwatch" && c.From == "build" && c.Chmod == "0755")
	}
	if !binary {
		t.Error("/confwatch must be copied from the build stage with --chmod=0755")
	}
	if _, err := os.Stat(filepath.Join("..", "Dockerfile.confwatch.dockerignore")); err != nil {
		t.Errorf("Dockerfile.confwatch needs its dockerignore (the context is the repository root): %v", err)
	}
}

// goVersion is the go directive of the module's go.mod.
func goVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+\.\d+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive with a patch version")
	}
	return string(m[1])
}

func TestInitScript(t *testing.T) {
	path := filepath.Join("..", "rootfs", "etc", "cont-init.d", "10-jibri-s3-secrets")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o111 == 0 {
		t.Errorf("%s is not executable in the repository", path)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "#!/command/with-contenv bash\n") {
		t.Error("the init script must run under s6-overlay's with-contenv")
	}
	if !strings.Contains(string(b), "finalize secrets") {
		t.Error("the init script must call finalize secrets")
	}
}
