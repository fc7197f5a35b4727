package keytmpl

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var when = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	good := []string{Default, "{session}/{file}", "rec/{tenant}/{room}/{yyyy}-{mm}-{dd}/{hh}/{session}-{file}"}
	for _, s := range good {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	bad := []string{"", "{room}/{file}", "{session}", "{prefix}/{session}/{file", "{session}/{file}}", "{nope}/{session}/{file}", "../{session}/{file}", "a/./{session}/{file}", "a\x00/{session}/{file}"}
	for _, s := range bad {
		if _, err := Parse(s); !errors.Is(err, ErrTemplate) {
			t.Errorf("Parse(%q) = %v, want ErrTemplate", s, err)
		}
	}
}

func TestRender(t *testing.T) {
	tmpl := MustParse(Default)
	tests := []struct {
		name string
		f    Fields
		want string
	}{
		{"basic", Fields{Prefix: "recordings", Time: when, Room: "weekly-sync", Session: "abc", File: "weekly-sync_2026-11-24-09-30-00.mp4"},
			"recordings/2026/11/24/weekly-sync/abc/weekly-sync_2026-11-24-09-30-00.mp4"},
		{"tenant kept", Fields{Prefix: "rec", Time: when, Tenant: "acme", Room: "weekly-sync", Session: "abc", File: "f.mp4"},
			"rec/2026/11/24/acme/weekly-sync/abc/f.mp4"},
		{"empty prefix", Fields{Time: when, Room: "r", Session: "s", File: "f"}, "2026/11/24/r/s/f"},
		{"nested prefix", Fields{Prefix: "/a//b/", Time: when, Room: "r", Session: "s", File: "f"}, "a/b/2026/11/24/r/s/f"},
		{"dotdot room", Fields{Time: when, Room: "..", Session: "s", File: "f"}, "2026/11/24/_../s/f"},
		{"traversal in room", Fields{Time: when, Room: "../../etc/passwd", Session: "s", File: "f"}, "2026/11/24/.._.._etc_passwd/s/f"},
		{"traversal in tenant", Fields{Time: when, Tenant: "../..", Room: "r", Session: "s", File: "f"}, "2026/11/24/_../_../r/s/f"},
		{"percent kept literal", Fields{Time: when, Room: "%2e%2e", Session: "s", File: "f"}, "2026/11/24/_2e_2e/s/f"},
		{"control chars", Fields{Time: when, Room: "a\x00b\nc\x7f", Session: "s", File: "f"}, "2026/11/24/a_b_c_/s/f"},
		{"unicode readable", Fields{Time: when, Room: "café-会议-🎉", Session: "s", File: "f"}, "2026/11/24/café-会议-🎉/s/f"},
		{"rtl kept, override dropped", Fields{Time: when, Room: "اجتماع\u202egnp.exe", Session: "s", File: "f"}, "2026/11/24/اجتماع_gnp.exe/s/f"},
		{"spaces", Fields{Time: when, Room: "team   sync", Session: "s", File: "my file.mp4"}, "2026/11/24/team_sync/s/my_file.mp4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tmpl.Render(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLongRoomsStayDistinct(t *testing.T) {
	a := Segment(strings.Repeat("x", 1000) + "a")
	b := Segment(strings.Repeat("x", 1000) + "b")
	if a == b || len(a) > MaxSegment || len(b) > MaxSegment {
		t.Fatalf("long segments: %q vs %q", a, b)
	}
	e := Segment(strings.Repeat("🎉", 300))
	if !utf8.ValidString(e) || len(e) > MaxSegment {
		t.Fatalf("emoji cut badly: %q", e)
	}
}

func FuzzRender(f *testing.F) {
	seeds := []string{"weekly-sync", "../", "..", "%2e%2e", "a\x00b", strings.Repeat("r", 1000), "مرحبا\u202e", "🎉🎉", "a/b/../c", "\xff\xfe", "~", "."}
	for _, s := range seeds {
		f.Add(s, s, s, s)
	}
	tmpl := MustParse("{prefix}/{yyyy}/{mm}/{dd}/{room}/{session}/{file}")
	f.Fuzz(func(t *testing.T, prefix, tenant, room, file string) {
		key, err := tmpl.Render(Fields{Prefix: "recordings", Time: when, Tenant: tenant, Room: room, Session: "sess-1", File: file})
		if err != nil {
			return // only "too long", which is a clean error
		}
		if !strings.HasPrefix(key, "recordings/2026/11/24/") {
			t.Fatalf("key escaped the prefix: %q", key)
		}
		if !utf8.ValidString(key) {
			t.Fatalf("invalid utf-8 in %q", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg == "." || seg == ".." || len(seg) > MaxSegment {
				t.Fatalf("bad segment %q in %q", seg, key)
			}
			if strings.ContainsFunc(seg, unsafeRune) {
				t.Fatalf("unsafe character in %q", key)
			}
		}
		if !strings.Contains(key, "/sess-1/") {
			t.Fatalf("session lost: %q", key)
		}
		_ = prefix
	})
}
