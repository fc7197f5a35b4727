package jibri

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func samples(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, dir := range []string{"../../../shared/jibri/samples", "testdata/metadata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(f)] = b
		}
	}
	if len(out) == 0 {
		t.Fatal("no metadata samples found")
	}
	return out
}

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		url, tenant  string
		room         string
		participants int
		session      string
		wantErr      bool
	}{
		{name: "basic", in: `{"meeting_url":"https://meet.example.com/weekly-sync","participants":[]}`,
			url: "https://meet.example.com/weekly-sync", room: "weekly-sync"},
		{name: "tenant", in: `{"meeting_url":"https://meet.example.com/acme/weekly-sync","participants":[{"a":1},{"b":2}],"conference_details":{"session_id":"s-1"}}`,
			url: "https://meet.example.com/acme/weekly-sync", tenant: "acme", room: "weekly-sync", participants: 2, session: "s-1"},
		{name: "jwt in query stripped", in: `{"meeting_url":"https://u:p@meet.example.com/r?jwt=eyJhbGci#config.x=1"}`,
			url: "https://meet.example.com/r", room: "r"},
		{name: "escaped room", in: `{"meeting_url":"https://meet.example.com/%2e%2e/caf%C3%A9"}`,
			url: "https://meet.example.com/%2e%2e/caf%C3%A9", tenant: "..", room: "café"},
		{name: "missing fields", in: `{}`},
		{name: "wrong types", in: `{"meeting_url":42,"participants":"many"}`},
		{name: "unknown keys", in: `{"foo":{"bar":[1,2]},"meeting_url":"https://x.example/r"}`, url: "https://x.example/r", room: "r"},
		{name: "not json", in: `{"meeting_url":`, wantErr: true},
		{name: "array", in: `[1,2]`, wantErr: true},
		{name: "null", in: `null`, wantErr: true},
		{name: "trailing", in: `{} {}`, wantErr: true},
		{name: "empty", in: ``, wantErr: true},
		{name: "deep", in: strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMetadata([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("want ErrCorrupt, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.MeetingURL != tt.url || m.Tenant != tt.tenant || m.Room != tt.room || m.Participants != tt.participants || m.SessionID != tt.session {
				t.Errorf("got %+v", m)
			}
		})
	}
}

func TestSecretsNeverSurvive(t *testing.T) {
	for name, data := range samples(t) {
		m, err := ParseMetadata(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, _ := json.Marshal(m.Public())
		for _, secret := range []string{"FAKE-TOKEN", "FAKE-REFRESH", "fakeappkey", "upload_credentials", "jwt=", "s3cr3t"} {
			if strings.Contains(string(out), secret) {
				t.Errorf("%s: public metadata leaks %q: %s", name, secret, out)
			}
		}
	}
}

func TestParseMediaName(t *testing.T) {
	tests := []struct {
		in   string
		room string
		t    time.Time
		ok   bool
	}{
		{"weekly-sync_2026-11-24-09-30-00.mp4", "weekly-sync", time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC), true},
		{"a_b_2026-01-02-03-04-05.mkv", "a_b", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{"room.mp4", "", time.Time{}, false},
		{"room_2026-13-40-00-00-00.mp4", "", time.Time{}, false},
	}
	for _, tt := range tests {
		room, ts, ok := ParseMediaName(tt.in)
		if room != tt.room || !ts.Equal(tt.t) || ok != tt.ok {
			t.Errorf("ParseMediaName(%q) = %q, %v, %v", tt.in, room, ts, ok)
		}
	}
}

func FuzzParseMetadata(f *testing.F) {
	for _, data := range samples(f) {
		f.Add(data)
	}
	f.Add([]byte(`{"meeting_url":"https://meet.example.com/../../etc/passwd"}`))
	f.Add([]byte(`{"meeting_url":"https://meet.example.com/%2e%2e%2f%00"}`))
	f.Add([]byte("{\"meeting_url\":\"https://m.example/\u202egnp.exe\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadata(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		out, err := json.Marshal(m.Public())
		if err != nil {
			t.Fatalf("public metadata does not marshal: %v", err)
		}
		if strings.Contains(string(out), `"upload_credentials"`) {
			t.Fatalf("credentials survived: %s", out)
		}
		if m.MeetingURL != "" {
			u, err := url.Parse(m.MeetingURL)
			if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				t.Fatalf("meeting url keeps query, fragment or user info: %q", m.MeetingURL)
			}
		}
	})
}
