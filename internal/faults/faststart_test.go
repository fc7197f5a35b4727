package faults

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

// TestFaststartKill9 runs the real finalize binary on a Jibri recording
// whose moov follows its media, kills it (SIGKILL, from the failpoint)
// after its first part is stored, and runs it again: the rerun continues
// the same rearranged upload, and the object is the recording with its
// moov first, decoding to the same frames.
func TestFaststartKill9(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	h := &harness{srv: srv, bucket: srv.Bucket(t, "faststart"), client: srv.Client(t)}
	h.proxy = newProxy(srv.Endpoint)
	defer h.proxy.close()

	plain := mediatest.Make(t, mediatest.Spec{Variant: mediatest.Plain, Length: 30 * time.Second})
	src := mediatest.Loop(t, plain, t.TempDir(), 8) // about 12 MiB: 3 parts of 5 MiB
	rec := newRecording(t, t.TempDir(), "faststart-kill", nil, "")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rec.dir, mediaName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	want := faststartBytes(t, data)

	h.proxy.setFault(nil)
	r1 := run(t, finalizeBin, h.env("JIBRI_UPLOAD_FAILPOINT=part-uploaded:1"), nil, rec.dir)
	p1 := h.proxy.count("part")
	if r1.code != 137 {
		t.Fatalf("first run exited %d, want 137 (SIGKILL)\n%s", r1.code, r1.stderr)
	}
	before, _, err := recdir.Read(rec.dir)
	if err != nil {
		t.Fatal(err)
	}
	entry := before.Files[mediaName]
	if entry == nil || entry.Rearranged != mp4.FaststartLayout || entry.ObjectSize != int64(len(want)) || entry.UploadID == "" {
		t.Fatalf("record after the kill: %+v", entry)
	}

	h.proxy.setFault(nil)
	r2 := run(t, finalizeBin, h.env(), nil, rec.dir)
	p2 := h.proxy.count("part")
	if r2.code != 0 {
		t.Fatalf("rerun exited %d\n%s", r2.code, r2.stderr)
	}
	if p2 > 2 {
		t.Errorf("rerun sent %d parts of 3; at least one was stored before the kill", p2)
	}
	if h.proxy.count("create") != 0 {
		t.Error("rerun began a new multipart upload instead of continuing the recorded one")
	}
	if _, err := os.Stat(filepath.Join(rec.dir, mediaName)); !os.IsNotExist(err) {
		t.Errorf("local file after the committed rerun: %v", err)
	}

	got := h.getMedia(t, rec.session)
	if !bytes.Equal(got, want) {
		t.Fatalf("the object (%d bytes) is not the recording's faststart layout (%d bytes)", len(got), len(want))
	}
	obj := filepath.Join(t.TempDir(), "object.mp4")
	if err := os.WriteFile(obj, got, 0o644); err != nil {
		t.Fatal(err)
	}
	if boxes := mediatest.RootBoxes(t, obj); !mediatest.MoovFirst(boxes) {
		t.Errorf("object boxes %v: moov is not before mdat", boxes)
	}
	if mediatest.FrameMD5(t, src) != mediatest.FrameMD5(t, obj) {
		t.Error("the object decodes to other frames than the recording")
	}
	t.Logf("parts sent: %d before the kill, %d by the rerun; object %d bytes, moov first", p1, p2, len(got))
}

// faststartBytes is the rearranged layout of a file's bytes.
func faststartBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	fs, err := mp4.NewFaststart(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(io.NewSectionReader(fs, 0, fs.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// getMedia returns the one .mp4 object of the session.
func (h *harness) getMedia(t *testing.T, session string) []byte {
	t.Helper()
	out, err := h.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(h.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var found []byte
	for _, o := range out.Contents {
		k := aws.ToString(o.Key)
		if strings.Contains(k, "/"+session+"/") && strings.HasSuffix(k, ".mp4") {
			if found != nil {
				t.Fatalf("two media objects for %s", session)
			}
			if found = h.get(t, k); found == nil {
				t.Fatalf("cannot read %s", k)
			}
		}
	}
	if found == nil {
		t.Fatalf("no media object for %s", session)
	}
	return found
}
