package finalize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/event"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/outbox"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

// TestEventQueuedMinIO: a committed recording leaves exactly one event in
// the outbox, naming the manifest's stored version and every object as
// the manifest lists it, with the share flag and the filtered URL.
func TestEventQueuedMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "recordings")
	e := newEnv(t, srv.Conn(), envOpts{bucket: bucket})
	e.runner.cfg.Events = outbox.Roots{}
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 6<<20))
	writeFile(t, dir, "metadata.json", []byte(`{"meeting_url":"https://meet.example.com/acme/weekly-sync?jwt=SECRET-JWT","share":true}`))
	res, err := e.runner.Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	list, err := outbox.Open(filepath.Dir(dir)).List()
	if err != nil || len(list) != 1 || list[0].Err != nil || list[0].ID != res.EventID {
		t.Fatalf("outbox %+v %v, result event %q", list, err, res.EventID)
	}
	ev, err := event.Decode(list[0].Event)
	if err != nil {
		t.Fatal(err)
	}
	head, err := e.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(res.ManifestKey)})
	if err != nil {
		t.Fatal(err)
	}
	m := e.manifest(t, res.ManifestKey)
	switch {
	case ev.Manifest.Key != res.ManifestKey || ev.Manifest.VersionID == "" || ev.Manifest.VersionID != aws.ToString(head.VersionId):
		t.Fatalf("manifest %+v, stored version %s", ev.Manifest, aws.ToString(head.VersionId))
	case ev.Recording.Share == nil || !*ev.Recording.Share || ev.Recording.MeetingURL != "https://meet.example.com/acme/weekly-sync":
		t.Fatalf("recording %+v", ev.Recording)
	case len(ev.Objects) != 1 || ev.Objects[0].VersionID != m.Files[0].VersionID || ev.Objects[0].Checksum != m.Files[0].Checksum || ev.Objects[0].Size != 6<<20:
		t.Fatalf("objects %+v, manifest %+v", ev.Objects, m.Files)
	case ev.Recording.EndedAt == nil || ev.Recording.DurationSeconds <= 0:
		t.Fatalf("no end: %+v", ev.Recording)
	}
}

// TestEventQueueFailureKeepsFilesMinIO: when the event cannot be queued,
// the run fails like an upload (files kept, the commit not recorded) and
// the next run queues it.
func TestEventQueueFailureKeepsFilesMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "recordings")
	e := newEnv(t, srv.Conn(), envOpts{bucket: bucket})
	e.runner.cfg.Events = outbox.Roots{}
	dir := recDir(t)
	root := filepath.Dir(dir)
	writeFile(t, dir, media, randomBytes(t, 1<<20))
	writeFile(t, dir, "metadata.json", []byte(`{"meeting_url":"https://meet.example.com/x"}`))
	blocker := recdir.OutboxPath(root)
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.runner.Run(context.Background(), dir); !errors.Is(err, ErrUpload) {
		t.Fatalf("run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, media)); err != nil {
		t.Fatal("media deleted although its event was not queued")
	}
	st, _ := recdir.Open(dir)
	if st.Record().IsCommitted() {
		t.Fatal("commit recorded without its event")
	}
	os.Remove(blocker)
	res, err := e.runner.Run(context.Background(), dir)
	if err != nil || res.EventID == "" {
		t.Fatalf("%v %+v", err, res)
	}
	if ids, _ := outbox.Open(root).IDs(); len(ids) != 1 || ids[0] != res.EventID {
		t.Fatalf("%v", ids)
	}
}
