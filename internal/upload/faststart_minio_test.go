package upload

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// jibriFile copies a mediatest recording into dir under a Jibri name and
// returns it as scanned media.
func jibriFile(t *testing.T, src, dir string) recording.Media {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "room_2026-12-02-08-00-00.mp4")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return statMedia(t, p)
}

// layoutOf returns the bytes NewFaststart makes of the file.
func layoutOf(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	fs, err := mp4.NewFaststart(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(io.NewSectionReader(fs, 0, fs.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkFaststartObject downloads what v says is stored and proves it is
// the recording rearranged: moov before mdat as ffprobe reads it, and
// (frames) the same decoded frames as the local file.
func checkFaststartObject(t *testing.T, e *resumeEnv, v Verified, frames bool) {
	t.Helper()
	got := download(t, e.client, e.bucket, v.Key(), v.VersionID())
	if int64(len(got)) != v.Size() {
		t.Fatalf("stored %d bytes, Verified says %d", len(got), v.Size())
	}
	if want := layoutOf(t, e.m.Path); !bytes.Equal(got, want) {
		t.Fatal("the object is not the file's faststart layout")
	}
	p := filepath.Join(t.TempDir(), "object.mp4")
	if err := os.WriteFile(p, got, 0o644); err != nil {
		t.Fatal(err)
	}
	if boxes := mediatest.RootBoxes(t, p); !mediatest.MoovFirst(boxes) {
		t.Errorf("object boxes %v: moov is not before mdat", boxes)
	}
	if !frames {
		return
	}
	if a, b := mediatest.FrameMD5(t, e.m.Path), mediatest.FrameMD5(t, p); a != b {
		t.Error("the object decodes to other frames than the file")
	}
}

func (e *resumeEnv) faststartUploader(faststart bool, failpoint func(string)) *Uploader {
	return New(e.client, Options{Bucket: e.bucket, PartSize: 5 << 20, Concurrency: 2, Checksum: checksum.CRC32C, SSE: SSES3, Failpoint: failpoint, Faststart: faststart})
}

// TestFaststartUploadMinIO: a recording with its moov last is stored with
// its moov first, as one object whose full-object checksum S3 verified.
func TestFaststartUploadMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	src := mediatest.Make(t, mediatest.Spec{Variant: mediatest.Plain, Length: 10 * time.Second})
	e := &resumeEnv{client: srv.Client(t), bucket: srv.Bucket(t, "faststart"), dir: t.TempDir(), key: "rec/faststart.mp4"}
	e.m = jibriFile(t, src, e.dir)
	if boxes := mediatest.RootBoxes(t, e.m.Path); mediatest.MoovFirst(boxes) {
		t.Fatalf("source boxes %v: the test needs the moov last", boxes)
	}
	v, err := e.faststartUploader(true, nil).Upload(context.Background(), e.m, Object{Key: e.key, ContentType: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Rearranged() != mp4.FaststartLayout || v.KeptLayout() != "" {
		t.Fatalf("rearranged %q, kept %q", v.Rearranged(), v.KeptLayout())
	}
	checkFaststartObject(t, e, v, true)
}

// TestFaststartKeepsUnplayableMinIO: a recording without a moov (ffmpeg
// killed) and a fragmented one are stored byte for byte as they are.
func TestFaststartKeepsUnplayableMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "kept")
	for _, variant := range []mediatest.Variant{mediatest.Killed, mediatest.Fragmented} {
		t.Run(variant.String(), func(t *testing.T) {
			src := mediatest.Make(t, mediatest.Spec{Variant: variant, Length: 3 * time.Second, Size: "320x240"})
			e := &resumeEnv{client: srv.Client(t), bucket: bucket, dir: t.TempDir(), key: "rec/" + variant.String() + ".mp4"}
			e.m = jibriFile(t, src, e.dir)
			v, err := e.faststartUploader(true, nil).Upload(context.Background(), e.m, Object{Key: e.key})
			if err != nil {
				t.Fatal(err)
			}
			if v.Rearranged() != "" || v.KeptLayout() == "" {
				t.Fatalf("rearranged %q, kept %q; want kept with a reason", v.Rearranged(), v.KeptLayout())
			}
			want, _ := os.ReadFile(e.m.Path)
			if got := download(t, e.client, e.bucket, v.Key(), v.VersionID()); !bytes.Equal(got, want) {
				t.Fatal("the object differs from the file")
			}
			t.Logf("kept: %s", v.KeptLayout())
		})
	}
}

// TestFaststartResumeMinIO: a multipart faststart upload interrupted after
// its first part continues in the same layout (the stored part is kept);
// with the layout switched off meanwhile it starts over instead, so that
// parts of two layouts are never mixed.
func TestFaststartResumeMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "faststart-resume")
	plain := mediatest.Make(t, mediatest.Spec{Variant: mediatest.Plain, Length: 30 * time.Second})
	big := mediatest.Loop(t, plain, t.TempDir(), 8) // about 12 MiB: three parts of 5 MiB
	for _, c := range []struct {
		name      string
		faststart bool // on the second run
	}{{"same layout", true}, {"faststart turned off", false}} {
		t.Run(c.name, func(t *testing.T) {
			e := &resumeEnv{client: srv.Client(t), bucket: bucket, dir: t.TempDir(), key: "rec/" + strings.ReplaceAll(c.name, " ", "-") + ".mp4"}
			e.m = jibriFile(t, big, e.dir)
			jr, err := recdir.Open(e.dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			u := e.faststartUploader(true, func(name string) {
				if name == "part-uploaded:1" {
					cancel()
				}
			})
			if _, err := u.Upload(ctx, e.m, Object{Key: e.key, Progress: jr}); err == nil {
				t.Fatal("interrupted upload reported success")
			}
			cancel()
			if err := jr.Flush(); err != nil {
				t.Fatal(err)
			}
			rec, _, err := recdir.Read(e.dir)
			if err != nil {
				t.Fatal(err)
			}
			entry := rec.Files[e.m.Name]
			if entry == nil || entry.UploadID == "" || len(entry.Parts) < 1 || entry.Rearranged != mp4.FaststartLayout || entry.ObjectSize <= 0 {
				t.Fatalf("record after the interruption: %+v", entry)
			}

			jr, err = recdir.Open(e.dir)
			if err != nil {
				t.Fatal(err)
			}
			v, err := e.faststartUploader(c.faststart, nil).Upload(context.Background(), e.m, Object{Key: e.key, Progress: jr})
			if err != nil {
				t.Fatal(err)
			}
			if err := jr.Flush(); err != nil {
				t.Fatal(err)
			}
			if v.Parts() < 3 {
				t.Fatalf("%d parts; the test needs a multipart upload of at least 3", v.Parts())
			}
			if c.faststart {
				if v.SentParts() > v.Parts()-len(entry.Parts) {
					t.Errorf("resumed run sent %d of %d parts; %d were stored before", v.SentParts(), v.Parts(), len(entry.Parts))
				}
				// The bytes are the layout's, whose frames TestFaststartUploadMinIO
				// and package mp4 compare; a 4-minute decode twice is not needed.
				checkFaststartObject(t, e, v, false)
			} else {
				if v.SentParts() != v.Parts() || v.Rearranged() != "" {
					t.Errorf("sent %d of %d parts in layout %q; want all, in the file's own", v.SentParts(), v.Parts(), v.Rearranged())
				}
				want, _ := os.ReadFile(e.m.Path)
				if got := download(t, e.client, e.bucket, v.Key(), v.VersionID()); !bytes.Equal(got, want) {
					t.Error("with faststart off the object is not the file")
				}
			}
			// The record names the layout the object is really in: a run that
			// continued the faststart upload with the file's own bytes would
			// leave it saying faststart-v1.
			after, _, err := recdir.Read(e.dir)
			if err != nil {
				t.Fatal(err)
			}
			final := after.Files[e.m.Name]
			if final.Status != recdir.FileCompleted || final.Rearranged != v.Rearranged() || final.UploadSize() != v.Size() {
				t.Errorf("record after the second run: %+v; the object is %d bytes in layout %q", final, v.Size(), v.Rearranged())
			}
			if !c.faststart && final.UploadID == entry.UploadID {
				t.Error("with faststart off the faststart upload was continued")
			}
			if open := e.openUploads(t); len(open) != 0 {
				t.Errorf("multipart uploads left open: %v", open)
			}
			t.Logf("%s: %d of %d parts sent by the second run", c.name, v.SentParts(), v.Parts())
		})
	}
}
