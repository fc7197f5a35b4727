package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
)

// BenchmarkFaststartPlan is the work faststart adds before an upload:
// inspecting the file and planning its layout (reading the moov, rewriting
// its chunk offsets), for the one-hour fixture of -media jibri -lengths 1h
// (skipped until a peerbench run has put it in .cache/bench).
//
//	go test -run XXX -bench FaststartPlan -benchmem ./bench/peerbench
func BenchmarkFaststartPlan(b *testing.B) {
	root, err := moduleRoot()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(root, ".cache", "bench", loopName(mediatest.Name(sourceSpec()), 60))
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("no one-hour fixture (run peerbench -media jibri -lengths 1h first): %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("inspect", func(b *testing.B) {
		for range b.N {
			if _, err := mp4.Inspect(f, fi.Size()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("inspect+plan", func(b *testing.B) {
		for range b.N {
			if _, err := mp4.Inspect(f, fi.Size()); err != nil {
				b.Fatal(err)
			}
			fs, err := mp4.NewFaststart(f, fi.Size())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fs.MoovSize()), "moov-bytes")
		}
	})
}
