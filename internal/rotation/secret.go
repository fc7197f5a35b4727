package rotation

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/jitsi-recorder/jibri-s3/internal/secrets"
)

// parseSecret decodes a version's SecretString: a JSON object whose keys are
// environment variable names. Values may be strings, numbers or booleans in
// the current version (anything terraform or an operator wrote); strict (the
// pending version, which this function wrote) wants strings only. Errors name
// keys, never values: the decoder's own message may quote the input.
func parseSecret(s string, strict bool) (map[string]secrets.Value, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalidSecret)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrInvalidSecret)
	}
	vals := make(map[string]secrets.Value, len(raw))
	for k, v := range raw {
		if !envName.MatchString(k) {
			return nil, fmt.Errorf("%w: key %q is not a variable name", ErrInvalidSecret, k)
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
			return nil, fmt.Errorf("%w: key %s holds a JSON object, array or null", ErrInvalidSecret, k)
		}
		if strict {
			if _, ok := v.(string); !ok {
				return nil, fmt.Errorf("%w: key %s does not hold a string", ErrInvalidSecret, k)
			}
		}
		if strings.ContainsFunc(text, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, fmt.Errorf("%w: key %s holds a control character", ErrInvalidSecret, k)
		}
		vals[k] = secrets.NewValue(text)
	}
	return vals, nil
}

// encodeSecret is the inverse of parseSecret (keys sorted, values strings).
func encodeSecret(vals map[string]secrets.Value) (string, error) {
	plain := make(map[string]string, len(vals))
	for k, v := range vals {
		plain[k] = v.Reveal()
	}
	b, err := json.Marshal(plain)
	if err != nil {
		// Strings always marshal; never wrap an error that could quote a value.
		return "", fmt.Errorf("%w: cannot encode", ErrInvalidSecret)
	}
	return string(b), nil
}

// keyPlan says which keys a new version rotates and which it copies.
type keyPlan struct {
	Rotate []string // sorted
	Keep   []string // sorted
}

// All returns every key the new version must hold, sorted.
func (p keyPlan) All() []string {
	all := append(append([]string(nil), p.Rotate...), p.Keep...)
	sort.Strings(all)
	return all
}

func planKeys(current map[string]secrets.Value, cfg Config) (keyPlan, error) {
	keep := map[string]bool{}
	for _, k := range cfg.Keep {
		if _, ok := current[k]; !ok {
			return keyPlan{}, fmt.Errorf("%w: %s names %s, which the current version does not hold", ErrInvalidSecret, EnvKeepKeys, k)
		}
		keep[k] = true
	}
	set := map[string]bool{}
	for k := range current {
		set[k] = true
	}
	for _, k := range cfg.Required {
		set[k] = true
	}
	var p keyPlan
	for k := range set {
		if keep[k] {
			p.Keep = append(p.Keep, k)
		} else {
			p.Rotate = append(p.Rotate, k)
		}
	}
	sort.Strings(p.Rotate)
	sort.Strings(p.Keep)
	if len(p.Rotate) == 0 {
		return p, fmt.Errorf("%w: no key to rotate", ErrInvalidSecret)
	}
	return p, nil
}

// checkPending is testSecret's verdict on the pending values.
func checkPending(current, pending map[string]secrets.Value, p keyPlan) error {
	var missing, empty, same, changed []string
	for _, k := range p.Rotate {
		v, ok := pending[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case v.Reveal() == "":
			empty = append(empty, k)
		case current[k].Reveal() != "" && current[k].Reveal() == v.Reveal():
			same = append(same, k)
		}
	}
	for _, k := range p.Keep {
		v, ok := pending[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case v.Reveal() != current[k].Reveal():
			changed = append(changed, k)
		}
	}
	var probs []string
	if len(missing) > 0 {
		probs = append(probs, "missing key(s) "+strings.Join(missing, ", "))
	}
	if len(empty) > 0 {
		probs = append(probs, "empty value(s) for "+strings.Join(empty, ", "))
	}
	if len(same) > 0 {
		probs = append(probs, "value(s) not rotated for "+strings.Join(same, ", "))
	}
	if len(changed) > 0 {
		probs = append(probs, "kept value(s) changed for "+strings.Join(changed, ", "))
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: pending version: %s", ErrInvalidSecret, strings.Join(probs, "; "))
	}
	return nil
}

// validPassword: what GetRandomPassword must have returned for our request.
func validPassword(s string) bool {
	if len(s) != PasswordLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
