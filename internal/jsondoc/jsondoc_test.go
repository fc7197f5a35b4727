package jsondoc

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name, doc, err string
	}{
		{"ok", `{"schema":"s","version":1,"x":2}`, ""},
		{"newest", `{"schema":"s","version":2}`, ""},
		{"too large", `{"schema":"s","version":1,"pad":"` + strings.Repeat("x", 100) + `"}`, "larger than 64"},
		{"not json", `{"schema":`, "unexpected end"},
		{"other schema", `{"schema":"t","version":1}`, `schema "t", want "s"`},
		{"no schema", `{"version":1}`, `schema "", want "s"`},
		{"future version", `{"schema":"s","version":3}`, "version 3 is not supported"},
		{"no version", `{"schema":"s"}`, "version 0 is not supported"},
		{"array", `[1]`, "cannot unmarshal"},
	} {
		err := Check([]byte(c.doc), 64, "s", 2)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"schema":"s","version":1}`))
	f.Add([]byte(`{"schema":"s","version":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := Check(b, 1<<10, "s", 1); err == nil && len(b) > 1<<10 {
			t.Fatal("accepted an oversized document")
		}
	})
}
