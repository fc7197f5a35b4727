package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "rotate-secret")
	content := bytes.Repeat([]byte("\x7fELF binary "), 1000)
	if err := os.WriteFile(bin, content, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "dist", "rotate-secret.zip")
	var stderr bytes.Buffer
	if code := run([]string{"-o", out, bin}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	first, _ := os.ReadFile(out)
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("entries = %v", zr.File)
	}
	f := zr.File[0]
	if f.Mode().Perm() != 0o755 || !f.Mode().IsRegular() {
		t.Errorf("mode = %v, want -rwxr-xr-x", f.Mode())
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, content) {
		t.Error("content differs")
	}
	// Same input, same zip.
	if code := run([]string{"-o", out, bin}, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	if second, _ := os.ReadFile(out); !bytes.Equal(first, second) {
		t.Error("the zip is not reproducible")
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("%d files in dist, want 1 (no temp file left)", len(entries))
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "data")
	os.WriteFile(noexec, []byte("x"), 0o644)
	out := filepath.Join(dir, "out.zip")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{noexec}, 2, "usage"},
		{[]string{"-o", out, filepath.Join(dir, "missing")}, 1, "cannot read the executable"},
		{[]string{"-o", out, noexec}, 1, "not an executable"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if code := run(tt.args, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: left %s", tt.args, out)
		}
	}
}
