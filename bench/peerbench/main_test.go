package main

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsMedia(t *testing.T) {
	defaultTools := []string{toolOurs, toolBare, toolAWS, toolRclone, toolMC}
	tests := []struct {
		name    string
		args    []string
		media   string
		lengths []time.Duration
		tools   []string
		wantErr string
	}{
		{name: "defaults", media: mediaRandom, tools: defaultTools},
		{name: "jibri media", args: []string{"-media", "jibri"}, media: mediaJibri, tools: defaultTools},
		{name: "lengths", args: []string{"-media", "jibri", "-lengths", "1h, 90m,"}, media: mediaJibri,
			lengths: []time.Duration{time.Hour, 90 * time.Minute}, tools: defaultTools},
		{name: "faststart pair", args: []string{"-tools", "finalize,finalize-nofaststart"}, media: mediaRandom,
			tools: []string{toolOurs, toolOursNF}},
		{name: "unknown media", args: []string{"-media", "ffmpeg"}, wantErr: "bad -media"},
		{name: "lengths need real media", args: []string{"-lengths", "1h"}, wantErr: "-lengths needs -media jibri"},
		{name: "not whole minutes", args: []string{"-media", "jibri", "-lengths", "90s"}, wantErr: "bad -lengths entry"},
		{name: "under a minute", args: []string{"-media", "jibri", "-lengths", "30s"}, wantErr: "bad -lengths entry"},
		{name: "not a duration", args: []string{"-media", "jibri", "-lengths", "60"}, wantErr: "bad -lengths entry"},
		{name: "unknown tool", args: []string{"-tools", "finalize-fast"}, wantErr: "unknown tool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			o, err := parseFlags(tt.args, io.Discard, root)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.media != tt.media || !slices.Equal(o.lengths, tt.lengths) || !slices.Equal(o.tools, tt.tools) {
				t.Errorf("media %q, lengths %v, tools %q; want %q, %v, %q", o.media, o.lengths, o.tools, tt.media, tt.lengths, tt.tools)
			}
			if want := filepath.Join(root, ".cache", "bench"); o.mediaCache != want {
				t.Errorf("media cache %q, want %q", o.mediaCache, want)
			}
		})
	}
}

func TestJibriVideoParams(t *testing.T) {
	p := jibriVideoParams()
	if len(p) < 4 || !slices.Equal(p[:2], []string{"-c:v", "libx264"}) || !slices.Equal(p[len(p)-2:], []string{"-f", "mp4"}) {
		t.Fatalf("jibriVideoParams() = %q, want libx264 ... -f mp4", p)
	}
	for _, want := range [][]string{{"-preset", "ultrafast"}, {"-crf", "25"}, {"-profile:v", "main"}, {"-level", "3.1"}, {"-pix_fmt", "yuv420p"}} {
		i := slices.Index(p, want[0])
		if i < 0 || i+1 >= len(p) || p[i+1] != want[1] {
			t.Errorf("jibriVideoParams() = %q, missing %q", p, want)
		}
	}
}

func TestLoopsFor(t *testing.T) {
	tests := []struct {
		bytes, src int64
		want       int
	}{
		{2048 << 20, 15 << 20, 137},
		{10, 15 << 20, 1},
		{30 << 20, 15 << 20, 2},
		{37 << 20, 15 << 20, 2},
		{38 << 20, 15 << 20, 3},
	}
	for _, tt := range tests {
		if got := loopsFor(tt.bytes, tt.src); got != tt.want {
			t.Errorf("loopsFor(%d, %d) = %d, want %d", tt.bytes, tt.src, got, tt.want)
		}
	}
}

func TestDechunk(t *testing.T) {
	payload := "\x00\x00\x00\x20ftypisom"
	tests := []struct {
		name, raw, want string
	}{
		{"one chunk", "c;chunk-signature=ab\r\n" + payload + "\r\n0\r\n\r\n", payload},
		{"unsigned", "5\r\n" + payload[:5] + "\r\n7\r\n" + payload[5:] + "\r\n0\r\nx-amz-checksum-crc32c:AAAA\r\n\r\n", payload},
		{"cut in a chunk", "10\r\n" + payload[:6], payload[:6]},
		{"cut in a size line", "5\r\n" + payload[:5] + "\r\n", payload[:5]},
		{"not chunked", payload, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(dechunk([]byte(tt.raw))); got != tt.want {
				t.Errorf("dechunk = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBoxesOf(t *testing.T) {
	head := append([]byte(nil), ftyp...)
	head = append(head, "\x00\x00\x00\x08free\x7f\xff\xff\xffmdat\x00\x00"...)
	if got, want := boxesOf(head), []string{"ftyp", "free", "mdat"}; !slices.Equal(got, want) {
		t.Errorf("boxesOf = %q, want %q", got, want)
	}
}

func TestLengthName(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Hour: "1h", 133 * time.Minute: "2h13m", 2*time.Hour + 5*time.Minute: "2h05m", 59*time.Minute + 40*time.Second: "1h", 10 * time.Minute: "10m"} {
		if got := lengthName(d); got != want {
			t.Errorf("lengthName(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestFaststartMarkdown(t *testing.T) {
	run := func(wall, cpu, rss float64) sampleJSON { return sampleJSON{Wall: wall, CPU: cpu, RSSMiB: rss} }
	r := results{Workloads: []workloadResult{{
		Name: "1h MP4", Files: 1, Bytes: 1e9,
		Media: &mediaJSON{Duration: 3600, FileBytes: 1e9, MoovBytes: 3 << 20, BitrateKbps: 2222},
		Targets: []targetRun{{Target: targetNull, LoadStart: "1", LoadEnd: "2", Samples: map[string][]sampleJSON{
			toolOurs:   {run(2, 1.1, 24), run(2.5, 1.0, 25), run(2, 1.2, 23)},
			toolOursNF: {run(2, 1.0, 18), run(2, 1.0, 19), run(2.5, 1.0, 17)},
		}}},
		Stored: map[string][]storedJSON{toolOurs: {{Key: "k", Bytes: 1e9, WantBytes: 1e9, Boxes: []string{"ftyp", "moov"}}}},
	}}}
	md := faststartMarkdown(r)
	// Throughput ratios per run 1, 0.8, 1.25: median 1. CPU 1.1, 1, 1.2:
	// median 1.1. RSS differences 6, 6, 6 MiB: 2 × the 3 MiB moov.
	for _, want := range []string{"| 1h MP4 | null | 1h, 2222 kbit/s, moov 3072 KiB | 500 (500, 400, 500) | 500 (500, 500, 400) | 1.000 | 1.10 | 1.00 | 1.100 |", "+6.0 (2.0 × moov)", "| 1h MP4 | finalize | 1000000000 | 1000000000 | ftyp moov |"} {
		if !strings.Contains(md, want) {
			t.Errorf("faststartMarkdown lacks %q:\n%s", want, md)
		}
	}
	r.Workloads[0].Targets[0].Samples[toolOursNF] = nil
	if md := faststartMarkdown(r); md != "" {
		t.Errorf("without both tools: %q, want nothing", md)
	}
}
