package config

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

func TestPrecedence(t *testing.T) {
	env := map[string]string{"JIBRI_UPLOAD_BUCKET": "from-env", "JIBRI_UPLOAD_CONCURRENCY": "8", "JIBRI_UPLOAD_DEADLINE": "2m", "JIBRI_UPLOAD_SSE": "aws:kms"}
	c := Defaults()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.Bind(fs)
	if err := ApplyEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--concurrency", "2", "--kms-key-id", "k1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Bucket != "from-env" || c.Concurrency != 2 || c.Deadline != 2*time.Minute || c.SSEMode != upload.SSEKMS || c.KMSKeyID != "k1" {
		t.Fatalf("%+v", c)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := map[string]func(*Config){
		"no bucket":   func(c *Config) { c.Bucket = "" },
		"small part":  func(c *Config) { c.PartSizeMiB = 1 },
		"concurrency": func(c *Config) { c.Concurrency = 0 },
		"checksum":    func(c *Config) { c.Checksum = "md5" },
		"sse":         func(c *Config) { c.SSE = "rot13" },
		"kms w/o sse": func(c *Config) { c.KMSKeyID = "k" },
		"template":    func(c *Config) { c.KeyTemplate = "{room}/{file}" },
		"tags":        func(c *Config) { c.Tags = "novalue" },
		"deadline":    func(c *Config) { c.Deadline = 0 },
		"ca bundle":   func(c *Config) { c.CABundle = "/no/such/file.pem" },
	}
	for name, mut := range tests {
		c := Defaults()
		c.Bucket = "b"
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := Defaults()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.Bind(fs)
	err := ApplyEnv(fs, func(k string) string {
		if strings.HasSuffix(k, "CONCURRENCY") {
			return "many"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "JIBRI_UPLOAD_CONCURRENCY") {
		t.Errorf("bad env: %v", err)
	}
}

// Every flag has exactly the variable its name gives, and the usage says
// so: one table, no hand-written list to drift.
func TestEnvDerivedFromFlags(t *testing.T) {
	c := Defaults()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.Bind(fs)
	env := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Value.(type) {
		case interface{ IsBoolFlag() bool }:
			env[EnvName(f.Name)] = "true"
		default:
			env[EnvName(f.Name)] = f.DefValue
		}
	})
	if err := ApplyEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.HasSuffix(f.Usage, "[$"+EnvName(f.Name)+"]") || strings.Count(f.Usage, "$JIBRI_UPLOAD_") != 1 {
			t.Errorf("--%s: usage %q", f.Name, f.Usage)
		}
	})
	if !c.Keep || !c.PathStyle || EnvName("part-size") != "JIBRI_UPLOAD_PART_SIZE" {
		t.Fatalf("%+v", c)
	}
}
