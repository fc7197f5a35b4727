package finalize

// Regression tests for defects of the per-recording state (issue 9), each
// failing on the release before package recdir.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/lock"
	"github.com/jitsi-recorder/jibri-s3/internal/recdir"
)

// errKilled stands for a kill at a failpoint: Run unwinds through its
// deferred calls, which a real kill -9 would not run, so these tests only
// prove what the next run does with the state left on disk; the fault
// suite kills the real binary.
type errKilled struct{ at string }

// killAt makes the runner panic at the named failpoint (once).
func killAt(e *env, stage string) {
	var once sync.Once
	e.runner.cfg.Failpoint = func(name string) {
		if name == stage {
			once.Do(func() { panic(errKilled{stage}) })
		}
	}
}

func runKilled(t *testing.T, e *env, dir string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(errKilled); !ok {
				panic(r)
			}
		}
	}()
	_, err := e.runner.Run(context.Background(), dir)
	t.Fatalf("run was not killed (err %v)", err)
}

// Defect 1: keys must not move between runs. Two names that sanitize alike
// share a rendered key; after a cleanup interrupted between the two
// deletions, the next run must upload the second file under its own key,
// not onto the first file's.
func TestKeysPinnedAcrossInterruptedCleanup(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	dir := recDir(t)
	first, second := "room\x01_2026-11-24-09-30-00.mp4", "room\x02_2026-11-24-09-30-00.mp4"
	a, b := randomBytes(t, 3000), randomBytes(t, 4000)
	writeFile(t, dir, first, a)
	writeFile(t, dir, second, b)
	writeFile(t, dir, "metadata.json", []byte(`{"meeting_url":"https://m.example/room"}`))
	killAt(e, "during-cleanup") // after the first file is deleted
	runKilled(t, e, dir)
	if _, err := os.Stat(filepath.Join(dir, first)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the kill was meant to follow the first deletion")
	}
	e.runner.cfg.Failpoint = nil
	res, err := e.runner.Run(context.Background(), dir)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	m := e.manifest(t, res.ManifestKey)
	keys := map[string]string{}
	for _, f := range m.Files {
		keys[f.Name] = f.Key
	}
	if len(m.Files) != 2 || keys[first] == keys[second] {
		t.Fatalf("manifest files %+v", m.Files)
	}
	if got := e.get(t, keys[first]); string(got) != string(a) {
		t.Fatal("the first file's object was overwritten")
	}
	if got := e.get(t, keys[second]); string(got) != string(b) {
		t.Fatal("the second file's object holds other bytes")
	}
}

// Defects 6 and 7: only our exact names are ours. A temp file an earlier
// release's atomic write left is not media; a user's file that merely
// starts with our prefix is media, uploaded and listed, never deleted
// unseen.
func TestOurNamesOnly(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(`{}`))
	writeFile(t, dir, "..finalize-journal.json.tmp-2718281828", []byte(`{"version":1,"fi`))
	writeFile(t, dir, recdir.TempFile, []byte(`{"version":2,"files":{`))
	writeFile(t, dir, ".finalize-notes.txt", []byte("the moderator's notes"))
	res, err := e.runner.Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range e.manifest(t, res.ManifestKey).Files {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != ".finalize-notes.txt,"+media {
		t.Fatalf("manifest lists %v", names)
	}
	if !res.DirRemoved {
		t.Fatalf("directory kept: %+v", res)
	}
}

// Defect 8: when a key is uploaded again (the file changed), the record
// takes the new file's identity, so the next run reuses the object instead
// of sending it a third time.
func TestReuploadRecordsNewIdentity(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	e.runner.cfg.Keep = true
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(`{}`))
	if _, err := e.runner.Run(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, media, randomBytes(t, 1500)) // changed: uploaded again
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(filepath.Join(dir, media), later, later)
	res, err := e.runner.Run(context.Background(), dir)
	if err != nil || res.Files[0].Reused {
		t.Fatalf("second run: %+v %v", res, err)
	}
	res, err = e.runner.Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Files[0].Reused || res.Files[0].PartsSent != 0 {
		t.Fatalf("third run sent the unchanged file again: %+v", res.Files[0])
	}
}

// Defect 9: a one-file recording killed after its media was deleted,
// before metadata.json and the record, is finished by the next run:
// metadata.json (which may hold tokens) and the directory go.
func TestOneFileKilledDuringCleanup(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(metaTok))
	killAt(e, "during-cleanup")
	runKilled(t, e, dir)
	e.runner.cfg.Failpoint = nil
	res, err := e.runner.Run(context.Background(), dir)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if _, err := os.Stat(dir); !res.DirRemoved || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("directory left: %+v", res)
	}
}

// Defect 11: on a cleanup failure the recording is counted as uploaded
// once, not twice.
func TestCleanupFailureCountedOnce(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	dir := recDir(t)
	p := filepath.Join(dir, media)
	writeFile(t, dir, media, randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(`{}`))
	// The file is touched after verification: cleanup refuses to delete it.
	e.runner.cfg.Failpoint = func(name string) {
		if name == "after-verify" {
			later := time.Now().Add(time.Hour)
			os.Chtimes(p, later, later)
		}
	}
	_, err := e.runner.Run(context.Background(), dir)
	if !errors.Is(err, ErrCleanup) {
		t.Fatalf("got %v", err)
	}
	f, err := os.Open(e.spool)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	uploaded, records := 0.0, 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		records++
		uploaded += doc["RecordingsUploaded"].(float64)
		if doc["CleanupFailed"].(float64) != 1 {
			t.Errorf("record without CleanupFailed: %s", sc.Text())
		}
	}
	if records != 1 || uploaded != 1 {
		t.Fatalf("%d records, RecordingsUploaded %v: want one record counting one upload", records, uploaded)
	}
}

// Defect 11: when the manifest an earlier run committed cannot be read, the
// run fails (and is retried) instead of committing a manifest that lists
// only the files still on disk.
func TestUnreadableEarlierManifestIsRetried(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	dir := recDir(t)
	writeFile(t, dir, "a_2026-11-24-09-30-00.mp4", randomBytes(t, 1000))
	writeFile(t, dir, "b_2026-11-24-09-30-00.mp4", randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(`{}`))
	killAt(e, "during-cleanup")
	runKilled(t, e, dir)
	e.runner.cfg.Failpoint = nil
	rec, _, _ := recdir.Read(dir)
	if _, err := e.client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(rec.Manifest)}); err != nil {
		t.Fatal(err)
	}
	// b was modified so that it is uploaded again and the manifest rewritten.
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "b_2026-11-24-09-30-00.mp4"), later, later)
	_, err := e.runner.Run(context.Background(), dir)
	if !errors.Is(err, ErrUpload) || !strings.Contains(err.Error(), "earlier manifest") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b_2026-11-24-09-30-00.mp4")); err != nil {
		t.Fatal("file deleted after a failed run")
	}
}

// Defect 11: a status probe holding the lock for an instant must not make a
// hook that starts at that moment give up.
func TestBriefLockHolderIsWaitedFor(t *testing.T) {
	_, conn := fake(t)
	e := newEnv(t, conn, envOpts{bucket: "recordings"})
	e.runner.cfg.LockWait = 2 * time.Second
	dir := recDir(t)
	writeFile(t, dir, media, randomBytes(t, 1000))
	writeFile(t, dir, "metadata.json", []byte(`{}`))
	l, err := lock.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, l.Release)
	if _, err := e.runner.Run(context.Background(), dir); err != nil {
		t.Fatalf("got %v", err)
	}
}

// A directory the previous release left (.finalize-state.json and
// .finalize-journal.json) is finalized correctly: attempts carried on, the
// pinned layout kept, a multipart upload that no longer exists started
// over, a committed recording's cut cleanup finished; the legacy files go.
func TestMigrationFromPreviousRelease(t *testing.T) {
	legacy := filepath.Join("..", "recdir", "testdata", "legacy")
	tests := []struct {
		fixture string
		media   []string
		check   func(t *testing.T, e *env, res *Result)
	}{
		{"failed", []string{"room_2026-11-24-10-00-00.mp4"}, func(t *testing.T, e *env, res *Result) {
			// The journal pinned room "room" and a start time; attempts 3 -> 4.
			if res.Attempts != 4 || !strings.Contains(res.Files[0].Key, "/2026/11/24/room/") {
				t.Fatalf("%+v", res)
			}
		}},
		{"committed-cleanup-cut", nil, func(t *testing.T, e *env, res *Result) {
			if !res.DirRemoved || res.ManifestKey != "recordings/2026/11/24/a/s2/manifest.json" {
				t.Fatalf("%+v", res)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			_, conn := fake(t)
			e := newEnv(t, conn, envOpts{bucket: "recordings"})
			dir := recDir(t)
			entries, err := os.ReadDir(filepath.Join(legacy, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			for _, de := range entries {
				b, _ := os.ReadFile(filepath.Join(legacy, tt.fixture, de.Name()))
				writeFile(t, dir, de.Name(), b)
			}
			for _, m := range tt.media {
				writeFile(t, dir, m, randomBytes(t, 2000))
			}
			writeFile(t, dir, "metadata.json", []byte(`{"meeting_url":"https://m.example/other-room"}`))
			res, err := e.runner.Run(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, e, res)
			for _, name := range []string{".finalize-state.json", ".finalize-journal.json"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					t.Errorf("%s left behind", name)
				}
			}
		})
	}
}
