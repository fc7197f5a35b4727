package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b)
	p.every = 0
	p.update("a.mp4", 50<<20, 100<<20)
	p.update("a.mp4", 100<<20, 100<<20)
	out := b.String()
	for _, want := range []string{"a.mp4:", " 50.0%", "100.0%", "50.0 MiB / 100.0 MiB", "eta"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress %q lacks %q", out, want)
		}
	}
	if showProgress("json", &b) || showProgress("console", &b) {
		t.Error("progress shown on a non-terminal")
	}
}
