package event

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite testdata/recording-committed.json")

var (
	commitTime = time.Date(2026, 11, 24, 10, 31, 5, 0, time.UTC)
	endTime    = time.Date(2026, 11, 24, 10, 30, 58, 0, time.UTC)
)

func sampleManifest(t *testing.T) *manifest.Manifest {
	t.Helper()
	b, err := os.ReadFile("testdata/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sample(t *testing.T) *Event {
	t.Helper()
	e, err := Build(sampleManifest(t), Commit{ManifestKey: "recordings/2026/11/24/weekly-sync/abcdefghijklmnop/manifest.json",
		ManifestVersion: "7b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", EndedAt: endTime}, commitTime)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestExample keeps testdata/recording-committed.json (the example in
// docs/events.md) what Build produces from testdata/manifest.json.
func TestExample(t *testing.T) {
	e := sample(t)
	e.Objects[0].Link = &Link{URL: "https://recordings.s3.eu-west-1.amazonaws.com/recordings/2026/11/24/weekly-sync/abcdefghijklmnop/weekly-sync_2026-11-24-09-30-00.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=...",
		ExpiresAt: commitTime.Add(time.Hour)}
	b, err := Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := indent(&pretty, b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "recording-committed.json")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, pretty.Bytes()) {
		t.Fatalf("%s is stale (go test -run TestExample -update):\n%s", path, pretty.Bytes())
	}
	got, err := Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ID(got) {
		t.Fatalf("example id %s, derived %s", got.ID, ID(got))
	}
}

func TestBuild(t *testing.T) {
	e := sample(t)
	m := sampleManifest(t)
	switch {
	case e.Recording.SessionID != m.Recording.SessionID || e.Recording.Room != "weekly-sync" || e.Recording.Tenant != "acme":
		t.Fatalf("recording %+v", e.Recording)
	case strings.Contains(e.Recording.MeetingURL, "jwt") || e.Recording.MeetingURL != "https://meet.example.com/acme/weekly-sync":
		t.Fatalf("meeting url %q", e.Recording.MeetingURL)
	case e.Recording.Share == nil || !*e.Recording.Share:
		t.Fatalf("share %v", e.Recording.Share)
	case e.Recording.DurationSeconds != 3658:
		t.Fatalf("duration %v", e.Recording.DurationSeconds)
	case e.Manifest.VersionID == "" || len(e.Objects) != len(m.Files):
		t.Fatalf("%+v", e)
	}
	for i, o := range e.Objects {
		f := m.Files[i]
		if o.Key != f.Key || o.VersionID != f.VersionID || o.Size != f.Size || o.Checksum != f.Checksum || o.ContentType != f.ContentType {
			t.Fatalf("object %d: %+v, file %+v", i, o, f)
		}
	}
}

func TestShare(t *testing.T) {
	tru, fal := true, false
	tests := []struct {
		in   any
		want *bool
	}{{true, &tru}, {false, &fal}, {"true", &tru}, {" False", &fal}, {"yes", nil}, {nil, nil}, {1.0, nil}}
	for _, tc := range tests {
		md := map[string]any{}
		if tc.in != nil {
			md["share"] = tc.in
		}
		got := share(md)
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("share(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestIDStable: the id is the idempotency key. It must not change with
// what differs between two runs committing the same objects (the time,
// the manifest's version, the object order, links) and must change when
// an object does.
func TestIDStable(t *testing.T) {
	a := sample(t)
	m := sampleManifest(t)
	m.Files[0], m.Files[1] = m.Files[1], m.Files[0]
	b, err := Build(m, Commit{ManifestKey: a.Manifest.Key, ManifestVersion: "another-version"}, commitTime.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b.Objects[0].Link = &Link{URL: "https://x", ExpiresAt: commitTime}
	if a.ID != b.ID || ID(b) != a.ID {
		t.Fatalf("ids differ: %s %s", a.ID, b.ID)
	}
	m.Files[0].VersionID = "v-other"
	c, _ := Build(m, Commit{ManifestKey: a.Manifest.Key}, commitTime)
	if c.ID == a.ID {
		t.Fatal("another object version, same id")
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := Encode(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"not json":       "{",
		"other schema":   `{"schema":"x","version":1}`,
		"future version": strings.Replace(string(good), `"version":1`, `"version":2`, 1),
		"bad id":         strings.Replace(string(good), `"id":"evt_`, `"id":"../`, 1),
		"no objects":     `{"schema":"` + Schema + `","version":1,"id":"evt_00000000000000000000000000000000","type":"recording.committed","recording":{"session_id":"a"},"manifest":{"key":"k"},"objects":[]}`,
		"huge":           `{"pad":"` + strings.Repeat("x", MaxSize) + `"}`,
	}
	for name, in := range tests {
		if _, err := Decode([]byte(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		out, err := Encode(e)
		if err != nil {
			t.Fatalf("decoded event does not re-encode: %v", err)
		}
		if _, err := Decode(out); err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
	})
}

// TestDocExamples: the example in docs/events.md is the testdata file, and
// the shorter one in the README is a valid event whose object is the
// testdata's first (without its link).
func TestDocExamples(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "recording-committed.json"))
	if err != nil {
		t.Fatal(err)
	}
	full := sample(t)
	for _, c := range []struct{ doc, after string }{
		{"../../docs/events.md", "(`internal/event/testdata/recording-committed.json`):"},
		{"../../README.md", "## Receiving completion events"},
	} {
		b, err := os.ReadFile(c.doc)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(b), c.after)
		_, rest, ok2 := strings.Cut(rest, "```json\n")
		block, _, ok3 := strings.Cut(rest, "```")
		if !ok || !ok2 || !ok3 {
			t.Fatalf("%s: no json block after %q", c.doc, c.after)
		}
		if strings.HasSuffix(c.doc, "events.md") {
			if block != string(want) {
				t.Errorf("%s: the example differs from testdata/recording-committed.json", c.doc)
			}
			continue
		}
		e, err := Decode([]byte(block))
		if err != nil {
			t.Fatalf("%s: %v", c.doc, err)
		}
		o := full.Objects[0]
		if len(e.Objects) != 1 || e.Objects[0].Key != o.Key || e.Objects[0].Media == nil || *e.Objects[0].Media != *o.Media || !reflect.DeepEqual(e.Recording, full.Recording) {
			t.Errorf("%s: example %+v differs from the testdata", c.doc, e)
		}
	}
}
