package faults

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
)

// TestUnplayableCLI runs the real finalize binary, as Jibri calls it, on a
// recording whose ffmpeg was SIGKILLed mid-recording (no moov): it exits
// 0, the object holds the file's bytes exactly (not rearranged, not
// "repaired"), the local file is deleted only once S3 holds it, and the
// manifest, the object metadata, the log and the EMF record all say it
// does not play.
func TestUnplayableCLI(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	h := &harness{srv: srv, bucket: srv.Bucket(t, "unplayable"), client: srv.Client(t)}
	h.proxy = newProxy(srv.Endpoint)
	defer h.proxy.close()

	killed := mediatest.Make(t, mediatest.Spec{Variant: mediatest.Killed, Length: 5 * time.Second})
	data, err := os.ReadFile(killed)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecording(t, t.TempDir(), "unplayable-cli", nil, "")
	if err := os.WriteFile(filepath.Join(rec.dir, mediaName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	rec.sums[mediaName] = sha256.Sum256(data)
	spool := filepath.Join(t.TempDir(), "emf.jsonl")

	r := run(t, finalizeBin, h.env("JIBRI_UPLOAD_METRICS_FILE="+spool, "JIBRI_UPLOAD_FASTSTART=true"), nil, rec.dir)
	if r.code != 0 {
		t.Fatalf("finalize exited %d\n%s", r.code, r.stderr)
	}
	if o := h.evaluate(t, rec); o.verified != 1 || o.localLeft != 0 || o.deletedUnverified != 0 {
		t.Fatalf("outcome %+v: want the recording in S3 byte for byte and gone from disk", o)
	}
	if !strings.Contains(r.stderr, "recording file is not playable; uploaded as it is") || !strings.Contains(r.stderr, "no moov box") {
		t.Errorf("no warning with the reason in the log:\n%s", r.stderr)
	}
	emf, err := os.ReadFile(spool)
	if err != nil || !strings.Contains(string(emf), `"Unplayable":1`) {
		t.Errorf("EMF spool %v:\n%s", err, emf)
	}

	var m *manifest.Manifest
	out, err := h.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(h.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		if strings.HasSuffix(aws.ToString(o.Key), "/"+manifest.FileName) {
			if m, err = manifest.Decode(h.get(t, aws.ToString(o.Key))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if m == nil || len(m.Files) != 1 || !m.Files[0].Unplayable() || m.Files[0].Media.Moov || m.Files[0].Size != int64(len(data)) {
		t.Fatalf("manifest %+v", m)
	}
	head, err := h.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(m.Files[0].Key)})
	if err != nil {
		t.Fatal(err)
	}
	if got := head.Metadata["media-playable"]; got != "false" {
		t.Errorf("object metadata media-playable %q, want false (%v)", got, head.Metadata)
	}
	t.Logf("killed recording of %d bytes: exit 0, stored as it is, flagged: %s", len(data), m.Files[0].Media.Reason)
}
