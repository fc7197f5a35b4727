package recording

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScan(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		force   bool
		wantErr error
		check   func(t *testing.T, r *Recording)
	}{
		{
			name: "jibri recording",
			setup: func(t *testing.T, dir string) {
				write(t, dir, "weekly-sync_2026-11-24-09-30-00.mp4", "video")
				write(t, dir, "metadata.json", `{"meeting_url":"https://meet.example.com/acme/weekly-sync","participants":[{}]}`)
				write(t, dir, ".finalize-state.json", `{}`)
			},
			check: func(t *testing.T, r *Recording) {
				if len(r.Media) != 1 || r.Room != "weekly-sync" || r.Tenant != "acme" || r.MetadataStatus != MetadataOK {
					t.Errorf("%+v", r)
				}
				if !r.Start.Equal(time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)) {
					t.Errorf("start %v", r.Start)
				}
			},
		},
		{
			name: "corrupt metadata falls back to the file name",
			setup: func(t *testing.T, dir string) {
				write(t, dir, "board_2026-01-02-03-04-05.mkv", "video")
				write(t, dir, "metadata.json", `{"meeting_url": "https://x/`)
			},
			check: func(t *testing.T, r *Recording) {
				if r.MetadataStatus != MetadataCorrupt || r.Room != "board" || r.MetadataError == "" {
					t.Errorf("%+v", r)
				}
			},
		},
		{
			name: "refuses symlinks, fifos; keeps empty files; any extension",
			setup: func(t *testing.T, dir string) {
				write(t, dir, "metadata.json", `{}`)
				write(t, dir, "a.webm", "x")
				write(t, dir, "b.bin", "y")
				write(t, dir, "empty.mp4", "")
				if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd.mp4")); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Mkfifo(filepath.Join(dir, "pipe.mp4"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, r *Recording) {
				if len(r.Media) != 2 || len(r.Empty) != 1 || len(r.Refused) != 2 || r.Room != FallbackRoom {
					t.Errorf("%+v", r)
				}
				for _, ref := range r.Refused {
					if ref.Name == "passwd.mp4" && !strings.Contains(ref.Reason, "/etc/passwd") {
						t.Errorf("reason %q", ref.Reason)
					}
				}
			},
		},
		{
			name: "subdirectory means not a recording",
			setup: func(t *testing.T, dir string) {
				os.Mkdir(filepath.Join(dir, "sub"), 0o755)
				write(t, dir, "metadata.json", "{}")
			},
			wantErr: ErrNotRecording,
		},
		{
			name:    "random files without metadata",
			setup:   func(t *testing.T, dir string) { write(t, dir, "notes.txt", "hello") },
			wantErr: ErrNotRecording,
		},
		{
			name:  "random files forced",
			setup: func(t *testing.T, dir string) { write(t, dir, "notes.txt", "hello") },
			force: true,
		},
		{
			name:    "metadata only",
			setup:   func(t *testing.T, dir string) { write(t, dir, "metadata.json", "{}") },
			wantErr: ErrNoMedia,
		},
		{
			name:  "orphan without metadata",
			setup: func(t *testing.T, dir string) { write(t, dir, "r_2026-01-02-03-04-05.mp4", "v") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "0f1e2d3c")
			os.Mkdir(dir, 0o755)
			tt.setup(t, dir)
			r, err := Scan(dir, Options{Force: tt.force})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestScanRefusesSymlinkedDir(t *testing.T) {
	base := t.TempDir()
	os.Mkdir(filepath.Join(base, "real"), 0o755)
	os.Symlink(filepath.Join(base, "real"), filepath.Join(base, "link"))
	if _, err := Scan(filepath.Join(base, "link"), Options{}); !errors.Is(err, ErrNotRecording) {
		t.Fatalf("got %v", err)
	}
}
