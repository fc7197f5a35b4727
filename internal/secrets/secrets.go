package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/jitsi-recorder/jibri-s3/internal/atomicfile"
)

// DefaultDir is where s6-overlay v3 keeps the container environment that
// with-contenv (and so every docker-jitsi-meet init script) reads.
const DefaultDir = "/run/s6/container_environment"

// API is the Secrets Manager call this package makes. GetSecretValue returns
// the secret's current version, or an error that [Fetch] classifies.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

var (
	// ErrNotFound: the secret (or its current version) does not exist.
	ErrNotFound = errors.New("secret not found")
	// ErrAccessDenied: the caller may not read the secret or decrypt it.
	ErrAccessDenied = errors.New("access denied")
	// ErrFormat: the secret is not a JSON object of environment variables.
	ErrFormat = errors.New("secret is not a JSON object of environment variables")
)

// IsPermanent reports whether retrying cannot help.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrAccessDenied) || errors.Is(err, ErrFormat)
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Fetch reads secret id and returns its keys and values. It validates the
// whole secret before returning, so callers write all of it or nothing.
func Fetch(ctx context.Context, api API, id string) (map[string]Value, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("secrets: cannot read %s: %w", id, classify(err))
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("secrets: %s: %w: it holds binary data", id, ErrFormat)
	}
	return parse(id, *out.SecretString)
}

func classify(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.ErrorCode() {
	case "ResourceNotFoundException":
		return fmt.Errorf("%w (%s)", ErrNotFound, ae.ErrorCode())
	case "AccessDeniedException", "AccessDenied", "DecryptionFailure", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
		return fmt.Errorf("%w (%s)", ErrAccessDenied, ae.ErrorCode())
	}
	return err
}

func parse(id, s string) (map[string]Value, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil {
		// The decoder's message may quote the secret: leave it out.
		return nil, fmt.Errorf("secrets: %s: %w: not a JSON object", id, ErrFormat)
	}
	vals := make(map[string]Value, len(raw))
	for k, v := range raw {
		if !envName.MatchString(k) {
			return nil, fmt.Errorf("secrets: %s: %w: key %q is not a variable name", id, ErrFormat, k)
		}
		var text string
		switch v := v.(type) {
		case string:
			text = v
		case json.Number:
			text = v.String()
		case bool:
			text = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("secrets: %s: %w: key %s holds a JSON object, array or null", id, ErrFormat, k)
		}
		if strings.ContainsRune(text, 0) {
			return nil, fmt.Errorf("secrets: %s: %w: key %s holds a NUL byte", id, ErrFormat, k)
		}
		vals[k] = NewValue(text)
	}
	return vals, nil
}

// Result says which variables were written and which were left alone.
type Result struct {
	Written []string // sorted
	Skipped []string // already set in the directory; sorted
}

// WriteEnvDir writes each value to dir/<key> (mode 0600, atomically), the
// layout of s6-overlay's container environment. A variable already present
// there (set by the container's own environment, e.g. ECS secrets) is kept
// unless overwrite is set. The directory must exist.
func WriteEnvDir(dir string, vals map[string]Value, overwrite bool) (Result, error) {
	var res Result
	st, err := os.Stat(dir)
	if err != nil {
		return res, fmt.Errorf("secrets: environment directory: %w", err)
	}
	if !st.IsDir() {
		return res, fmt.Errorf("secrets: environment directory %s is not a directory", dir)
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := filepath.Join(dir, k)
		// A variable already set (by ECS or docker run -e) wins; an empty one does not count as
		// set: s6 writes every container variable here, and docker-jitsi-meet's env.example
		// passes the passwords through empty.
		if !overwrite {
			if st, err := os.Lstat(path); err == nil && st.Size() > 0 {
				res.Skipped = append(res.Skipped, k)
				continue
			}
		}
		if err := atomicfile.Write(path, []byte(vals[k].Reveal()), 0o600); err != nil {
			return res, fmt.Errorf("secrets: cannot write %s: %w", k, err)
		}
		res.Written = append(res.Written, k)
	}
	return res, nil
}

// Select keeps only the named keys; every name must be in the secret.
func Select(vals map[string]Value, names []string) (map[string]Value, error) {
	if len(names) == 0 {
		return vals, nil
	}
	out := make(map[string]Value, len(names))
	var missing []string
	for _, n := range names {
		v, ok := vals[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		out[n] = v
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("secrets: %w: missing key(s) %s", ErrFormat, strings.Join(missing, ", "))
	}
	return out, nil
}

// Summary is the one line printed after a run; it names keys, never values.
func (r Result) Summary(dir string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "secrets: wrote %d variable(s) to %s", len(r.Written), dir)
	if len(r.Written) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(r.Written, ", "))
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, "; kept %d already set: %s", len(r.Skipped), strings.Join(r.Skipped, ", "))
	}
	return b.String()
}
