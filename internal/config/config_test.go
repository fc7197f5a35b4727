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
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.Bind(fs)
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
	if err := c.FromEnv(func(k string) string {
		if strings.HasSuffix(k, "CONCURRENCY") {
			return "many"
		}
		return ""
	}); err == nil {
		t.Error("bad env accepted")
	}
}
