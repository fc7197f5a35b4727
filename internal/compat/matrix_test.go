package compat

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/probe"
	"github.com/jitsi-recorder/jibri-s3/internal/s3servers"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

// TestMatrix probes every store, runs the round trips, checks them as
// TestRoundTrip does and writes the matrix to $COMPAT_OUT (make compat,
// which requires every store). Without COMPAT_OUT it has nothing to write.
func TestMatrix(t *testing.T) {
	out := os.Getenv("COMPAT_OUT")
	if out == "" {
		t.Skip("COMPAT_OUT names the file to write (make compat)")
	}
	var rows []Row
	for _, k := range s3servers.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			srv := k.Start(t)
			r := Row{Store: k.Name, Version: srv.Version, Notes: append([]string(nil), k.Notes...)}
			var err error
			r.Probe, err = probe.Run(context.Background(), srv.Client(t), probe.Options{Bucket: srv.Bucket, Checksum: checksum.CRC32C, SSE: upload.SSES3})
			if err != nil {
				r.ProbeErr = err.Error()
				t.Errorf("%s: probe: %v", k.Name, err)
			}
			if srv.Versioning != "" {
				r.Notes = append(r.Notes, "PutBucketVersioning was refused: "+srv.Versioning)
			}
			var unsupported []string
			r.Trips, unsupported = Trips(t, &bins, srv, true)
			for _, f := range unsupported {
				r.Notes = append(r.Notes, "`"+f+"` not run: this finalize has no such setting")
			}
			checkTrips(t, srv, r.Trips)
			rows = append(rows, r)
		})
	}
	if len(rows) != len(s3servers.Kinds()) {
		t.Fatalf("%d of %d stores ran: the matrix is not written", len(rows), len(s3servers.Kinds()))
	}
	doc := Render(rows, time.Now(), runtime.Version())
	if err := os.WriteFile(out, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s:\n%s", out, doc)
}
