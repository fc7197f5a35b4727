package upload

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
)

// BenchmarkVerifyModes uploads the same 256 MiB file to MinIO in each
// verification mode and reports throughput and this process's CPU per MiB,
// with each mode's ratio to checksum (make bench-verify). The store's own
// work is not counted: it is the same upload, plus the reads of readback.
func BenchmarkVerifyModes(b *testing.B) {
	srv := miniotest.Start(b, miniotest.Options{})
	bucket := srv.Bucket(b, "bench-verify")
	client := srv.Client(b)
	const size = 256 << 20
	m := mediaFile(b, b.TempDir(), "bench.mp4", size, 7)
	type result struct{ mibps, cpuMsPerMiB float64 }
	results := map[string]result{}
	for _, mode := range []string{VerifyChecksum, VerifyETag, VerifyReadback} {
		b.Run(mode, func(b *testing.B) {
			u := New(client, Options{Bucket: bucket, PartSize: 16 << 20, Concurrency: 4, Checksum: checksum.CRC32C, SSE: SSES3, Verify: mode})
			b.SetBytes(size)
			var cpu time.Duration
			start := time.Now()
			for i := 0; i < b.N; i++ {
				before := cpuTime()
				if _, err := u.Upload(context.Background(), m, Object{Key: fmt.Sprintf("bench/%s-%d.mp4", mode, i)}); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - before
			}
			wall := time.Since(start)
			r := result{mibps: float64(size>>20) * float64(b.N) / wall.Seconds(), cpuMsPerMiB: float64(cpu.Milliseconds()) / float64(b.N*(size>>20))}
			results[mode] = r
			b.ReportMetric(r.cpuMsPerMiB, "cpu-ms/MiB")
			if base, ok := results[VerifyChecksum]; ok && mode != VerifyChecksum {
				b.ReportMetric(base.mibps/r.mibps, "time-x-checksum")
				b.ReportMetric(r.cpuMsPerMiB/base.cpuMsPerMiB, "cpu-x-checksum")
			}
		})
	}
}

// cpuTime is this process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
