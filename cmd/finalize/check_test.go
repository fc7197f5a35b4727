package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jitsi-recorder/jibri-s3/internal/doctor"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
)

// TestCheck runs "finalize check" as an operator would, against MinIO
// (everything verified; no lifecycle rule: exit 3) and against gofakes3
// (verifies nothing: --verify checksum cannot work, exit 4).
func TestCheck(t *testing.T) {
	minio := miniotest.Start(t, miniotest.Options{})
	bucket := minio.Bucket(t, "check")
	fake := server(t)
	root := t.TempDir()
	minioEnv := func(extra ...string) []string {
		return baseEnv(t, minio.Endpoint, append([]string{"AWS_ACCESS_KEY_ID=" + miniotest.AccessKey, "AWS_SECRET_ACCESS_KEY=" + miniotest.SecretKey,
			"JIBRI_UPLOAD_BUCKET=" + bucket}, extra...)...)
	}
	tests := []struct {
		name  string
		env   []string
		args  []string
		code  int
		check string // a line that must be there, with its status
		want  string
	}{
		{"minio", minioEnv(), []string{"check", "--json", "--root", root}, exitCheckWarn, "verify mode", doctor.OK},
		{"minio, checksum asked", minioEnv("JIBRI_UPLOAD_VERIFY=checksum"), []string{"check", "--json", "--root", root}, exitCheckWarn, "wrong checksum refused", doctor.OK},
		{"gofakes3, checksum asked", baseEnv(t, fake.URL, "JIBRI_UPLOAD_SSE=none"), []string{"check", "--json", "--verify", "checksum"}, exitCheckFail, "verify mode", doctor.Fail},
		{"gofakes3, auto", baseEnv(t, fake.URL, "JIBRI_UPLOAD_SSE=none"), []string{"check", "--json"}, exitCheckWarn, "verify mode", doctor.Warn},
		{"no such bucket", baseEnv(t, fake.URL, "JIBRI_UPLOAD_BUCKET=absent"), []string{"check", "--json"}, exitCheckFail, "bucket", doctor.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBinary(t, tt.env, nil, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			var rep doctor.Report
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, r.stdout)
			}
			found := false
			for _, res := range rep.Results {
				if res.Check == tt.check {
					found = true
					if res.Status != tt.want {
						t.Errorf("%s: %+v, want %s", tt.check, res, tt.want)
					}
				}
			}
			if !found {
				t.Errorf("no %q line in %+v", tt.check, rep.Results)
			}
		})
	}
	t.Run("table", func(t *testing.T) {
		r := runBinary(t, minioEnv(), nil, "check", "--root", root)
		if r.code != exitCheckWarn || !strings.Contains(r.stdout, "CHECK") || !strings.Contains(r.stdout, "auto picks checksum") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("usage", func(t *testing.T) {
		if r := runBinary(t, minioEnv(), nil, "check", "--verify", "md5"); r.code != exitUsage {
			t.Fatalf("bad --verify: exit %d\n%s", r.code, r.stderr)
		}
	})
}
