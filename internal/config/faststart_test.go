package config

import (
	"flag"
	"testing"
)

// Faststart is on by default and turned off by the flag or its variable.
func TestFaststartFlag(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want bool
	}{
		{"default", nil, nil, true},
		{"flag", nil, []string{"--faststart=false"}, false},
		{"variable", map[string]string{"JIBRI_UPLOAD_FASTSTART": "false"}, nil, false},
		{"flag over variable", map[string]string{"JIBRI_UPLOAD_FASTSTART": "false"}, []string{"--faststart"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Defaults()
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			cfg.Bind(fs)
			if err := ApplyEnv(fs, func(k string) string { return c.env[k] }); err != nil {
				t.Fatal(err)
			}
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			if cfg.Faststart != c.want {
				t.Fatalf("Faststart = %v, want %v", cfg.Faststart, c.want)
			}
		})
	}
}
