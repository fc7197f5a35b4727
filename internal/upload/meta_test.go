package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
)

// recordingMetadata is what finalize stores for a recording: the room
// appears twice (room and meeting-url).
func recordingMetadata(room, tenant string) map[string]string {
	m := map[string]string{
		"room":                  room,
		"session-id":            "8f2c1a9e-1c1b-4d0e-9a43-5b7d2e1f0c3a",
		"recording-start":       "2026-12-02T04:00:00Z",
		"metadata-status":       "ok",
		"uploader-version":      "v1.4.0-12-gabcdef0",
		"participants":          "12",
		"conference-session-id": "e5b8a7f2-0f5c-4b21-b1f0-6c1d2f3a4b5c",
		"meeting-url":           "https://meet.example.com/" + room,
	}
	if tenant != "" {
		m["tenant"] = tenant
		m["meeting-url"] = "https://meet.example.com/" + tenant + "/" + room
	}
	return m
}

// checkFitted verifies every promise of FitMetadata for raw and its result.
func checkFitted(t *testing.T, raw, got map[string]string) {
	t.Helper()
	if n := MetadataSize(got); n > MetadataLimit || n > 2048 {
		t.Errorf("metadata is %d bytes, over the %d-byte limit", n, MetadataLimit)
	}
	var dec mime.WordDecoder
	for k, v := range got {
		r, ok := raw[k]
		if !ok {
			t.Errorf("key %q was not in the input", k)
			continue
		}
		if len(v) > MaxMetadataValue {
			t.Errorf("%s is %d bytes, over %d", k, len(v), MaxMetadataValue)
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				t.Fatalf("%s holds byte %#x: not a printable ASCII header value: %q", k, v[i], v)
			}
		}
		if v != "" && (v[0] == ' ' || v[len(v)-1] == ' ') {
			t.Errorf("%s has a blank HTTP would trim: %q", k, v)
		}
		d, err := dec.DecodeHeader(v)
		if err != nil {
			t.Errorf("%s does not decode: %v (%q)", k, err, v)
			continue
		}
		r = strings.ToValidUTF8(r, "\uFFFD")
		if d == r {
			continue
		}
		sum := sha256.Sum256([]byte(r))
		suffix := "~" + hex.EncodeToString(sum[:4])
		prefix, cut := strings.CutSuffix(d, suffix)
		if !cut || !strings.HasPrefix(r, prefix) {
			t.Errorf("%s decodes to %q: neither the value nor a prefix of it with its hash %s", k, d, suffix)
		}
	}
}

func TestFitMetadata(t *testing.T) {
	cjk := strings.Repeat("会议室", 27)[:80*3] // 80 CJK characters
	emoji := strings.Repeat("🎥", 60)
	long := strings.Repeat("a", 1000)
	tenant300 := strings.Repeat("t", 300)
	cases := []struct {
		name string
		raw  map[string]string
		// keep: keys whose values must come back whole
		keep []string
		// cut: keys whose values must be shortened (with the hash)
		cut []string
	}{
		{"80 CJK characters", recordingMetadata(cjk, ""),
			[]string{"session-id", "recording-start", "metadata-status", "uploader-version", "participants", "conference-session-id"},
			[]string{"room", "meeting-url"}},
		{"60 emoji", recordingMetadata(emoji, "acme"),
			[]string{"session-id", "recording-start", "tenant", "participants"}, []string{"room", "meeting-url"}},
		{"1000 ASCII characters", recordingMetadata(long, ""),
			[]string{"session-id", "recording-start", "conference-session-id"}, []string{"room", "meeting-url"}},
		{"a 300-character tenant", recordingMetadata("standup", tenant300),
			[]string{"session-id", "room", "tenant", "conference-session-id"}, []string{}},
		{"plain ASCII is untouched", recordingMetadata("weekly-standup", "acme"),
			[]string{"room", "tenant", "meeting-url", "session-id"}, nil},
		{"control characters and blanks", map[string]string{"room": " tab\there\r\n ", "tenant": "=?utf-8?q?x?="}, nil, nil},
		{"invalid UTF-8", map[string]string{"room": "caf\xe9"}, nil, nil},
		{"invalid keys are dropped", map[string]string{"Room": "x", "-a": "y", "room_1": "z", "ok": "v"}, []string{"ok"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := FitMetadata(c.raw)
			checkFitted(t, c.raw, got)
			for _, k := range c.keep {
				if got[k] != encodeValue(c.raw[k]) {
					t.Errorf("%s = %q, want it whole", k, got[k])
				}
			}
			for _, k := range c.cut {
				if v, ok := got[k]; !ok || len(v) >= len(encodeValue(c.raw[k])) {
					t.Errorf("%s = %q, want it cut", k, v)
				}
			}
			if again := FitMetadata(c.raw); !reflect.DeepEqual(got, again) {
				t.Error("two calls with the same input differ")
			}
		})
	}
}

func TestFitMetadataEncodesNonASCIIAsQ(t *testing.T) {
	got := FitMetadata(map[string]string{"room": "café"})["room"]
	if want := mime.QEncoding.Encode("utf-8", "café"); got != want {
		t.Errorf("room = %q, want %q", got, want)
	}
}

func TestFitMetadataKeepsDistinctValuesDistinct(t *testing.T) {
	base := strings.Repeat("会", 300)
	a := FitMetadata(map[string]string{"room": base + "a"})["room"]
	b := FitMetadata(map[string]string{"room": base + "b"})["room"]
	if a == b {
		t.Errorf("two rooms that differ after the cut are stored alike: %q", a)
	}
}

func TestFitMetadataPriority(t *testing.T) {
	// Every value at its bound: the total must shrink, least important
	// first; the identifying values stay whole.
	raw := recordingMetadata(strings.Repeat("r", 2000), strings.Repeat("t", 2000))
	raw["conference-session-id"] = strings.Repeat("c", 2000)
	raw["zz-extra"] = strings.Repeat("z", 2000)
	got := FitMetadata(raw)
	checkFitted(t, raw, got)
	for _, k := range []string{"session-id", "recording-start", "metadata-status", "uploader-version", "participants"} {
		if got[k] != raw[k] {
			t.Errorf("%s = %q, want it whole", k, got[k])
		}
	}
	if len(got["room"]) != MaxMetadataValue {
		t.Errorf("room is %d bytes, want the full %d: it is cut last", len(got["room"]), MaxMetadataValue)
	}
	if _, ok := got["zz-extra"]; ok && len(got["zz-extra"]) >= len(got["meeting-url"]) {
		t.Errorf("an unknown key kept more (%d) than meeting-url (%d)", len(got["zz-extra"]), len(got["meeting-url"]))
	}

	// Far too many keys: some are dropped, the total still fits.
	many := map[string]string{}
	for i := range 500 {
		many["k"+strings.Repeat("x", i%40)+string(rune('a'+i%26))] = "v"
	}
	checkFitted(t, many, FitMetadata(many))
}

func FuzzFitMetadata(f *testing.F) {
	f.Add("weekly-standup", "acme", "https://meet.example.com/acme/weekly-standup", "x")
	f.Add(strings.Repeat("会议", 40), "", "=?utf-8?q?=E4?=", "")
	f.Add(strings.Repeat("🎥", 60), strings.Repeat("t", 300), " \t\r\n", "\xff\xfe")
	f.Add(strings.Repeat("a", 1000), "=?", "?=", "~")
	f.Fuzz(func(t *testing.T, room, tenant, url, extra string) {
		raw := recordingMetadata(room, tenant)
		raw["meeting-url"] = url
		raw["extra"] = extra
		raw[strings.ToLower(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '-'
		}, "x"+extra))] = room
		got := FitMetadata(raw)
		checkFitted(t, raw, got)
		if !reflect.DeepEqual(got, FitMetadata(raw)) {
			t.Fatal("not deterministic")
		}
	})
}

// The metadata S3 would refuse before (percent-encoded, unbounded) is
// stored, and reads back as the original or its prefix with the hash.
func TestFitMetadataMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{TLS: true})
	bucket := srv.Bucket(t, "meta")
	c := srv.Client(t)
	ctx := context.Background()
	rooms := map[string]map[string]string{
		"cjk":    recordingMetadata(strings.Repeat("会议室", 27)[:80*3], ""),
		"emoji":  recordingMetadata(strings.Repeat("🎥", 60), "acme"),
		"ascii":  recordingMetadata(strings.Repeat("a", 1000), ""),
		"tenant": recordingMetadata("standup", strings.Repeat("t", 300)),
		"all":    recordingMetadata(strings.Repeat("🎥", 300), strings.Repeat("会", 300)),
	}
	for name, raw := range rooms {
		t.Run(name, func(t *testing.T) {
			key := "rec/" + name + ".mp4"
			_, err := c.PutObject(ctx, &s3.PutObjectInput{
				Bucket: &bucket, Key: &key, Body: strings.NewReader("media"), Metadata: FitMetadata(raw),
			})
			if err != nil {
				t.Fatalf("put with fitted metadata: %v", err)
			}
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			if len(head.Metadata) == 0 {
				t.Fatal("no metadata came back")
			}
			for _, k := range []string{"room", "session-id", "recording-start"} {
				if _, ok := head.Metadata[k]; !ok {
					t.Errorf("%s is missing from the stored metadata %v", k, keysOf(head.Metadata))
				}
			}
			checkFitted(t, raw, head.Metadata)
		})
	}
}

func keysOf(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
