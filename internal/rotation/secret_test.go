package rotation

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jitsi-recorder/jibri-s3/internal/secrets"
)

func TestParseSecret(t *testing.T) {
	tests := []struct {
		in     string
		strict bool
		want   vmap
		err    string
	}{
		{in: `{"A":"x","B_2":"y"}`, want: vals("A", "x", "B_2", "y")},
		{in: `{"PORT":5222,"ON":true}`, want: vals("PORT", "5222", "ON", "true")},
		{in: `{"PORT":5222}`, strict: true, err: "PORT does not hold a string"},
		{in: `{}`, want: vmap{}},
		{in: `hunter2hunter2`, err: "not a JSON object"},
		{in: `["hunter2hunter2"]`, err: "not a JSON object"},
		{in: `null`, err: "not a JSON object"},
		{in: `{"A":"x"} {"B":"y"}`, err: "data after"},
		{in: `{"A":{"b":"hunter2hunter2"}}`, err: "A holds a JSON object"},
		{in: `{"A":null}`, err: "A holds a JSON object, array or null"},
		{in: `{"A-B":"x"}`, err: `"A-B" is not a variable name`},
		{in: "{\"A\":\"hunter2\\u0000\"}", err: "A holds a control character"},
		{in: `{"A":"hunter2`, err: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSecret(tt.in, tt.strict)
			if tt.err != "" {
				if !errors.Is(err, ErrInvalidSecret) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error quotes the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v keys, want %v", len(got), len(tt.want))
			}
		})
	}
}

func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{`{"A":"x"}`, `{"PORT":1,"B":true}`, `{"A":"\u0000"}`, `{"1":"x"}`, `[]`, `{"A":"x"}x`, `{"A":"é\"\\"}`} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, strict bool) {
		vals, err := parseSecret(s, strict)
		if err != nil {
			if !errors.Is(err, ErrInvalidSecret) {
				t.Fatalf("error not ErrInvalidSecret: %v", err)
			}
			// An error names keys only: no string value of the input appears in it.
			var loose map[string]any
			if json.Unmarshal([]byte(s), &loose) == nil {
				for k, v := range loose {
					if sv, ok := v.(string); ok && len(sv) >= 4 && !strings.Contains(k, sv) && strings.Contains(err.Error(), sv) {
						t.Fatalf("error %q quotes the value of %s", err, k)
					}
				}
			}
			return
		}
		for k := range vals {
			if !envName.MatchString(k) {
				t.Fatalf("accepted key %q", k)
			}
		}
		// What encodeSecret writes, parseSecret reads back unchanged, strictly.
		enc, err := encodeSecret(vals)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseSecret(enc, true)
		if err != nil || !reflect.DeepEqual(again, vals) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func TestCheckPending(t *testing.T) {
	cur := vals("A", "old-a", "B", "old-b", "K", "Zk3pt9")
	plan := keyPlan{Rotate: []string{"A", "B", "N"}, Keep: []string{"K"}}
	tests := []struct {
		name    string
		pending vmap
		err     string
	}{
		{"ok", vals("A", "new-a", "B", "new-b", "N", "new-n", "K", "Zk3pt9"), ""},
		{"missing new and kept", vals("A", "new-a", "B", "new-b"), "missing key(s) N, K"},
		{"kept changed", vals("A", "new-a", "B", "new-b", "N", "n", "K", "other"), "kept value(s) changed for K"},
		{"two not rotated", vals("A", "old-a", "B", "old-b", "N", "n", "K", "Zk3pt9"), "not rotated for A, B"},
		{"empty", vals("A", "", "B", "b", "N", "n", "K", "Zk3pt9"), "empty value(s) for A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPending(cur, tt.pending, plan)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidSecret) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			for _, v := range []string{"old-a", "old-b", "Zk3pt9", "other", "new-a"} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error quotes a value: %v", err)
				}
			}
		})
	}
}

func TestValidPassword(t *testing.T) {
	for s, want := range map[string]bool{
		"abcdefghijklmnopqrstuvwxyzABCDE0": true,
		"abcdefghijklmnopqrstuvwxyzABCDE":  false,
		"abcdefghijklmnopqrstuvwxyzABCDE!": false,
		"abcdefghijklmnopqrstuvwxyzABCDEé": false,
		"":                                 false,
	} {
		if got := validPassword(s); got != want {
			t.Errorf("validPassword(%q) = %v", s, got)
		}
	}
}

// vmap builds a map of values from plain strings.
type vmap = map[string]secrets.Value

func vals(kv ...string) vmap {
	m := vmap{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = secrets.NewValue(kv[i+1])
	}
	return m
}
