package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jitsi-recorder/jibri-s3/internal/s3servers"
	"github.com/jitsi-recorder/jibri-s3/internal/testbin"
)

var bins Binaries

func TestMain(m *testing.M) {
	// COMPAT_BINARIES runs against finalize and recwatch built elsewhere
	// (a release, or a clean checkout while the tree is being edited).
	if prebuilt := os.Getenv("COMPAT_BINARIES"); prebuilt != "" {
		bins = Binaries{Finalize: filepath.Join(prebuilt, "finalize"), Recwatch: filepath.Join(prebuilt, "recwatch")}
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "compat-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if bins.Finalize, err = testbin.Build(dir, "finalize", "../../cmd/finalize"); err == nil {
		bins.Recwatch, err = testbin.Build(dir, "recwatch", "../../cmd/recwatch")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// wantCommit says whether a store must commit a recording with at least
// one of Settings(): every store does, except gofakes3 with a finalize
// without --verify, where nothing proves what gofakes3 stored (it reports no
// checksum for a multipart object).
func wantCommit(name string, bins *Binaries) bool {
	return name != "gofakes3" || bins.Supported(Setting{Env: []string{"JIBRI_UPLOAD_VERIFY=auto"}})
}

// TestRoundTrip runs the kill -9 and resume round trip on every store
// present, with each setting until one commits. Nothing may be lost on any store, and each
// store commits with some setting or with none, as commits says.
func TestRoundTrip(t *testing.T) {
	for _, k := range s3servers.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			srv := k.Start(t)
			trips, _ := Trips(t, &bins, srv, false)
			checkTrips(t, srv, trips)
		})
	}
}

func checkTrips(t *testing.T, srv *s3servers.Server, trips []Trip) {
	t.Helper()
	name := srv.Kind.Name
	for _, tr := range trips {
		t.Logf("%s %q: %s", name, tr.Setting.Flags, tr.Summary())
		if tr.Lost() {
			t.Errorf("%s with %q: the recording was lost: %+v", name, tr.Setting.Flags, tr)
		}
	}
	if got, want := commitsWith(trips) != "none", wantCommit(name, &bins); got != want {
		t.Errorf("%s: commits with some setting = %v, want %v", name, got, want)
	}
}

// Trips runs RoundTrip with each of Settings that finalize supports, each
// on a fresh recording: all of them, or until one commits. It returns the
// trips and the settings left out as unsupported.
func Trips(t *testing.T, bins *Binaries, srv *s3servers.Server, all bool) (trips []Trip, unsupported []string) {
	for i, set := range Settings() {
		if !bins.Supported(set) {
			unsupported = append(unsupported, set.Flags)
			continue
		}
		tr := RoundTrip(t, *bins, srv, set, fmt.Sprintf("compat-%s-%d", strings.ToLower(srv.Kind.Name), i))
		trips = append(trips, tr)
		if tr.Committed && !all {
			break
		}
	}
	return trips, unsupported
}
