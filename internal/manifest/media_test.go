package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMediaBlock: the media block is optional and additive. Manifests
// written before it decode (no block), a manifest with it round-trips, and
// the committed example of an unplayable recording decodes as such. The
// schema version stays 1: a reader of version 1 that predates the block
// ignores it (Decode ignores unknown members, checked below), so a rolling
// upgrade never makes an older finalize reject a newer manifest.
func TestMediaBlock(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("testdata", "v1-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(old)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		if f.Media != nil || f.Unplayable() {
			t.Fatalf("a manifest without media blocks decoded with one: %+v", f)
		}
	}

	b, err := os.ReadFile(filepath.Join("testdata", "v1-media.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err = Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 2 || m.Files[0].Unplayable() || !m.Files[1].Unplayable() {
		t.Fatalf("files %+v", m.Files)
	}
	good, bad := m.Files[0].Media, m.Files[1].Media
	if !good.Playable || good.DurationSeconds != 3600.021 || len(good.Tracks) != 2 || good.Tracks[0].Codec != "avc1.42c01f" || good.Tracks[1].SampleRate != 44100 {
		t.Fatalf("playable file %+v", good)
	}
	if bad.Moov || !strings.Contains(bad.Reason, "no moov") {
		t.Fatalf("unplayable file %+v", bad)
	}
	again, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(again)
	if err != nil || back.Files[1].Media.Reason != bad.Reason || back.Files[0].Media.Tracks[0].Width != 1280 {
		t.Fatalf("round trip: %v %+v", err, back)
	}

	future := strings.Replace(string(old), `"bucket"`, `"a_member_of_the_future": {"x": 1}, "bucket"`, 1)
	if _, err := Decode([]byte(future)); err != nil {
		t.Fatalf("an unknown member is rejected, so adding one would need a new version: %v", err)
	}
}

func TestMediaBlockRejects(t *testing.T) {
	for name, md := range map[string]*Media{
		"negative duration":        {Container: "mp4", DurationSeconds: -1, Playable: true},
		"unplayable without cause": {Container: "mp4", Playable: false},
	} {
		m := sample()
		m.Files[0].Media = md
		if _, err := Encode(m); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
