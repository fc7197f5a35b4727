package finalize

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/event"
	"github.com/jitsi-recorder/jibri-s3/internal/inventory"
	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
	"github.com/jitsi-recorder/jibri-s3/internal/outbox"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// sample copies one of the recordings internal/mp4 keeps in testdata (made
// with ffmpeg the way Jibri makes them) into dir under name.
func sample(t *testing.T, dir, name, variant string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "mp4", "testdata", "samples", variant, "recording.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, name, b)
}

// TestMediaFlagged: every MP4 of a recording is inspected before its
// upload. A file without its index (ffmpeg killed) is uploaded, verified
// and kept track of like any other, and flagged everywhere: the manifest's
// media block, the object metadata, a warning, the EMF record, the record
// that recwatch status reads, the result, and the event. Playable files
// get their duration and tracks; the one rearranged for faststart says so.
func TestMediaFlagged(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings", faststart: true})
	var logs bytes.Buffer
	e.runner.log = zerolog.New(&logs)
	e.runner.cfg.Events = outbox.Roots{}
	e.runner.cfg.Keep = true // the record stays, to be read as recwatch status reads it
	dir := recDir(t)
	const plain, killed, frag = "weekly-sync_2026-11-24-09-30-00.mp4", "weekly-sync_2026-11-24-09-40-00.mp4", "weekly-sync_2026-11-24-09-50-00.mp4"
	sample(t, dir, plain, "plain")
	sample(t, dir, killed, "killed")
	sample(t, dir, frag, "fragmented")
	writeFile(t, dir, "chat.txt", []byte("hello"))
	writeFile(t, dir, "metadata.json", []byte(`{"meeting_url":"https://meet.example.com/acme/weekly-sync"}`))

	res, err := e.runner.Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Unplayable(); n != 1 {
		t.Fatalf("result: %d unplayable, want 1: %+v", n, res.Files)
	}
	m := e.manifest(t, res.ManifestKey)
	files := map[string]manifest.File{}
	for _, f := range m.Files {
		files[f.Name] = f
	}
	if len(files) != 4 || files["chat.txt"].Media != nil {
		t.Fatalf("manifest files %+v (chat.txt must have no media block)", m.Files)
	}
	for _, c := range []struct {
		name                            string
		playable, fragmented, faststart bool
		reason, note                    string
	}{
		{plain, true, false, true, "", "stored rearranged for faststart"},
		{killed, false, false, false, "no moov box", ""},
		{frag, true, true, true, "", ""},
	} {
		md := files[c.name].Media
		switch {
		case md == nil:
			t.Fatalf("%s: no media block", c.name)
		case md.Playable != c.playable || md.Fragmented != c.fragmented || md.Faststart != c.faststart || md.Container != "mp4":
			t.Errorf("%s: %+v", c.name, md)
		case !strings.Contains(md.Reason, c.reason) || (c.reason == "") != (md.Reason == ""):
			t.Errorf("%s: reason %q, want %q", c.name, md.Reason, c.reason)
		case c.note != "" && !strings.Contains(strings.Join(md.Notes, "\n"), c.note):
			t.Errorf("%s: notes %q, want %q", c.name, md.Notes, c.note)
		case c.playable && (md.DurationSeconds <= 0 || len(md.Tracks) != 2 || md.Tracks[0].Kind != "video" || md.Tracks[1].Codec != "mp4a.40.2" || md.Tracks[0].Width == 0):
			t.Errorf("%s: duration %v, tracks %+v", c.name, md.DurationSeconds, md.Tracks)
		}
		head, err := e.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("recordings"), Key: aws.String(files[c.name].Key)})
		if err != nil {
			t.Fatal(err)
		}
		meta := map[string]string{}
		for k, v := range head.Metadata {
			meta[strings.ToLower(k)] = v
		}
		d, err := strconv.ParseFloat(meta[metaDuration], 64)
		if meta[metaPlayable] != strconv.FormatBool(c.playable) || err != nil || d < md.DurationSeconds-0.001 || d > md.DurationSeconds+0.001 {
			t.Errorf("%s: object metadata %v, manifest duration %v", c.name, meta, md.DurationSeconds)
		}
	}

	if n := strings.Count(logs.String(), "recording file is not playable; uploaded as it is"); n != 1 || !strings.Contains(logs.String(), killed) {
		t.Errorf("%d warnings for %s in:\n%s", n, killed, logs.String())
	}
	if got := emfValue(t, e.spool, "Unplayable"); got != 1 {
		t.Errorf("EMF Unplayable = %v, want 1", got)
	}
	rec, _, err := recdir.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if why := rec.Files[killed].Unplayable; !strings.Contains(why, "no moov box") || rec.Files[plain].Unplayable != "" {
		t.Errorf("record: %q / %q", why, rec.Files[plain].Unplayable)
	}
	entry, err := inventory.Classify(dir, m.CompletedAt, inventory.DefaultPolicy(), nil)
	if err != nil || len(entry.Unplayable) != 1 || !strings.HasPrefix(entry.Unplayable[0], killed+": no moov box") {
		t.Errorf("status: %+v %v", entry.Unplayable, err)
	}

	list, err := outbox.Open(filepath.Dir(dir)).List()
	if err != nil || len(list) != 1 {
		t.Fatalf("outbox %+v %v", list, err)
	}
	ev, err := event.Decode(list[0].Event)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ev.Objects {
		want := files[o.Name].Media
		switch {
		case want == nil && o.Media != nil:
			t.Errorf("event: %s has media %+v", o.Name, o.Media)
		case want != nil && (o.Media == nil || o.Media.Playable != want.Playable || o.Media.Reason != want.Reason || o.Media.DurationSeconds != want.DurationSeconds):
			t.Errorf("event: %s media %+v, manifest %+v", o.Name, o.Media, want)
		}
	}
}

// emfValue returns the sum of metric name over the EMF records in spool.
func emfValue(t *testing.T, spool, name string) float64 {
	t.Helper()
	f, err := os.Open(spool)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sum float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatalf("spool: %v", err)
		}
		if v, ok := doc[name].(float64); ok {
			sum += v
		}
	}
	return sum
}

// TestInspectMedia: only ISO media names are read; a file that cannot be
// read is an error (the upload of it fails and is retried), a file that
// does not play is not.
func TestInspectMedia(t *testing.T) {
	dir := t.TempDir()
	sample(t, dir, "a.mp4", "killed")
	writeFile(t, dir, "b.MOV", []byte("not a movie"))
	writeFile(t, dir, "chat.txt", []byte("hello"))
	for _, c := range []struct {
		name     string
		info     bool
		playable bool
		err      bool
	}{
		{"a.mp4", true, false, false},
		{"b.MOV", true, false, false},
		{"chat.txt", false, false, false},
		{"gone.mp4", false, false, true},
	} {
		p := filepath.Join(dir, c.name)
		var size int64
		if fi, err := os.Stat(p); err == nil {
			size = fi.Size()
		}
		info, err := inspectMedia(recording.Media{Name: c.name, Path: p, Size: size})
		switch {
		case (err != nil) != c.err:
			t.Errorf("%s: error %v", c.name, err)
		case (info != nil) != c.info:
			t.Errorf("%s: info %+v", c.name, info)
		case info != nil && (info.Playable != c.playable || info.Reason == ""):
			t.Errorf("%s: playable %v, reason %q", c.name, info.Playable, info.Reason)
		}
	}
}
