package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

func mk(t testing.TB, root, session string, files map[string]string, mtime time.Time) string {
	t.Helper()
	dir := filepath.Join(root, session)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	os.Chtimes(dir, mtime, mtime)
	return dir
}

func TestClassify(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	p := Policy{Settle: 30 * time.Second, Orphan: 10 * time.Minute, MaxAttempts: 3, RetryBase: time.Minute, RetryMax: 10 * time.Minute}
	root := t.TempDir()
	media := map[string]string{"r_2026-11-24-11-00-00.mp4": "video"}
	withMeta := map[string]string{"r_2026-11-24-11-00-00.mp4": "video", "metadata.json": "{}"}
	tests := []struct {
		name   string
		files  map[string]string
		mtime  time.Time
		st     *recdir.Record
		locked bool
		want   State
	}{
		{"recording", media, now.Add(-time.Minute), nil, false, Recording},
		{"orphan", media, now.Add(-11 * time.Minute), nil, false, Pending},
		{"settling", withMeta, now.Add(-10 * time.Second), nil, false, Settling},
		{"settled", withMeta, now.Add(-time.Minute), nil, false, Pending},
		{"uploading", withMeta, now.Add(-time.Minute), nil, true, Uploading},
		{"failed waiting", withMeta, now.Add(-time.Hour), &recdir.Record{Outcome: recdir.OutcomeFailed, Attempts: 1, LastError: "boom", Updated: now.Add(-10 * time.Second)}, false, Failed},
		{"failed due", withMeta, now.Add(-time.Hour), &recdir.Record{Outcome: recdir.OutcomeDeadline, Attempts: 1, Updated: now.Add(-2 * time.Minute)}, false, Pending},
		{"stuck", withMeta, now.Add(-time.Hour), &recdir.Record{Outcome: recdir.OutcomeMismatch, Attempts: 3, Updated: now.Add(-time.Hour)}, false, Stuck},
		{"done with leftovers", map[string]string{"empty.mp4": ""}, now.Add(-time.Hour), &recdir.Record{Manifest: "m", Leftovers: []string{"empty.mp4"}}, false, Done},
		{"permanent failure waits for the longest delay", withMeta, now.Add(-time.Hour), &recdir.Record{Outcome: recdir.OutcomePermanent, Attempts: 1, Hint: "the bucket does not exist", Updated: now.Add(-2 * time.Minute)}, false, Failed},
		{"kept by --keep", withMeta, now.Add(-time.Hour), &recdir.Record{Manifest: "m", Kept: true}, false, Kept},
		{"committed, cleanup cut short", map[string]string{"metadata.json": "{}"}, now.Add(-time.Hour), &recdir.Record{Manifest: "m"}, false, Pending},
		{"committed, only the record left", nil, now.Add(-time.Hour), &recdir.Record{Manifest: "m"}, false, Pending},
		{"a user file with our prefix is media", map[string]string{".finalize-notes.txt": "x", "metadata.json": "{}"}, now.Add(-time.Hour), nil, false, Pending},
		{"temp file of a killed record write is not media", map[string]string{recdir.TempFile: "{", "metadata.json": "{}"}, now.Add(-time.Hour), nil, false, Invalid},
		{"new empty dir", nil, now.Add(-time.Minute), nil, false, Recording},
		{"old empty dir", nil, now.Add(-time.Hour), nil, false, Pending},
		{"metadata only", map[string]string{"metadata.json": "{}"}, now.Add(-time.Hour), nil, false, Invalid},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := mk(t, root, fmt.Sprintf("s%02d", i), nil, tt.mtime)
			if tt.st != nil {
				if err := recdir.Save(dir, tt.st); err != nil {
					t.Fatal(err)
				}
			}
			mk(t, root, fmt.Sprintf("s%02d", i), tt.files, tt.mtime)
			e, err := Classify(dir, now, p, func(string) bool { return tt.locked })
			if err != nil {
				t.Fatal(err)
			}
			if e.State != tt.want {
				t.Fatalf("state %s, want %s (%+v)", e.State, tt.want, e)
			}
		})
	}
	os.MkdirAll(filepath.Join(root, "s99", "nested"), 0o755)
	entries, err := Scan(root, now, p, nil)
	if err != nil || len(entries) != len(tests)+1 {
		t.Fatalf("scan: %d entries, %v", len(entries), err)
	}
	if c := Counts(entries); c[Unreadable] != 0 {
		t.Fatalf("counts %v", c)
	}
	var table, js bytes.Buffer
	WriteTable(&table, root, now, entries)
	if !strings.Contains(table.String(), "stuck") || !strings.Contains(table.String(), "recording(s):") {
		t.Errorf("table:\n%s", table.String())
	}
	WriteJSON(&js, root, now, entries)
	var doc map[string]any
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
}

func TestRetryDelay(t *testing.T) {
	p := Policy{RetryBase: time.Minute, RetryMax: 10 * time.Minute}
	prev := time.Duration(0)
	for a := 1; a <= 6; a++ {
		d := RetryDelay(p, "s", a)
		if d < p.RetryBase/2 || d > p.RetryMax {
			t.Fatalf("attempt %d: %s", a, d)
		}
		if a <= 3 && d <= prev/2 {
			t.Fatalf("attempt %d: %s not growing from %s", a, d, prev)
		}
		prev = d
	}
	first, again := RetryDelay(p, "s", 2), RetryDelay(p, "s", 2)
	if first != again {
		t.Fatalf("delay not stable: %s then %s", first, again)
	}
	if other := RetryDelay(p, "t", 2); other == first {
		t.Logf("sessions s and t got the same jitter (%s): possible, but unlikely", other)
	}
}

// BenchmarkScan1000 measures the first scan of 1,000 pending recordings
// (target: well under 1 s).
func BenchmarkScan1000(b *testing.B) {
	root := b.TempDir()
	old := time.Now().Add(-time.Hour)
	for i := 0; i < 1000; i++ {
		mk(b, root, fmt.Sprintf("session-%04d", i), map[string]string{"r_2026-11-24-11-00-00.mp4": "v", "metadata.json": "{}"}, old)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		entries, err := Scan(root, time.Now(), DefaultPolicy(), nil)
		if err != nil || len(entries) != 1000 || Counts(entries)[Pending] != 1000 {
			b.Fatalf("%d entries, %v", len(entries), err)
		}
	}
}

// A session directory whose record cannot be read must not hide the
// others (the fault suite covers a directory that cannot be listed, which
// needs a process without root's rights).
func TestScanSurvivesBadEntry(t *testing.T) {
	now := time.Now()
	root := t.TempDir()
	old := now.Add(-time.Hour)
	for i := 0; i < 3; i++ {
		mk(t, root, fmt.Sprintf("ok-%d", i), map[string]string{"r_2026-11-24-11-00-00.mp4": "v", "metadata.json": "{}"}, old)
	}
	bad := mk(t, root, "bad", map[string]string{"r_2026-11-24-11-00-00.mp4": "v", "metadata.json": "{}"}, old)
	if err := os.Mkdir(filepath.Join(bad, recdir.RecordFile), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(bad, old, old)
	entries, err := Scan(root, now, DefaultPolicy(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := Counts(entries); c[Pending] != 4 {
		t.Fatalf("counts %v", c)
	}
	for _, e := range entries {
		if e.Session == "bad" && (!e.Unsafe() || e.LastError == "") {
			t.Fatalf("bad entry %+v", e)
		}
	}
}

// TestUnplayableShown: a file finalize flagged unplayable is listed by the
// status (table and JSON) whatever the state, so an operator sees it
// before and after the upload.
func TestUnplayableShown(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	root := t.TempDir()
	name := "r_2026-11-24-11-00-00.mp4"
	why := "no moov box: the index was never written"
	for _, c := range []struct {
		session string
		rec     *recdir.Record
		want    State
	}{
		{"failed", &recdir.Record{Outcome: recdir.OutcomeFailed, Attempts: 1, LastError: "boom", Updated: now, Files: map[string]*recdir.File{name: {Key: "k", Unplayable: why}}}, Failed},
		{"kept", &recdir.Record{Manifest: "m", Kept: true, Files: map[string]*recdir.File{name: {Key: "k", Unplayable: why}, "b.mp4": {Key: "k2"}}}, Kept},
	} {
		dir := mk(t, root, c.session, nil, now.Add(-time.Hour))
		if err := recdir.Save(dir, c.rec); err != nil {
			t.Fatal(err)
		}
		mk(t, root, c.session, map[string]string{name: "video", "metadata.json": "{}"}, now.Add(-time.Hour))
		e, err := Classify(dir, now, DefaultPolicy(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != c.want || len(e.Unplayable) != 1 || e.Unplayable[0] != name+": "+why {
			t.Fatalf("%s: state %s, unplayable %q", c.session, e.State, e.Unplayable)
		}
	}
	entries, err := Scan(root, now, DefaultPolicy(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var table, js bytes.Buffer
	if err := WriteTable(&table, root, now, entries); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(table.String(), "UNPLAYABLE "+name); n != 2 {
		t.Errorf("table shows %d unplayable files, want 2:\n%s", n, table.String())
	}
	if err := WriteJSON(&js, root, now, entries); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(js.String(), `"unplayable": [`); n != 2 {
		t.Errorf("JSON shows %d unplayable lists, want 2:\n%s", n, js.String())
	}
}
