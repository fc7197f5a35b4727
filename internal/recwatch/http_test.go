package recwatch

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/inventory"
	"github.com/jitsi-recorder/jibri-s3/internal/metrics"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	probeErr := errors.New("s3 down")
	d := New(Options{Root: t.TempDir(), Policy: inventory.DefaultPolicy()}, nil, zerolog.Nop(), NewMetrics(), nil, nil,
		func(context.Context) error { return probeErr })
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()

	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, "not watching") {
		t.Fatalf("readyz before watching: %d %s", code, body)
	}
	d.watching.Store(true)
	d.checkS3(context.Background())
	if code, body := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, "s3") {
		t.Fatalf("readyz with s3 down: %d %s", code, body)
	}
	probeErr = nil
	d.checkS3(context.Background())
	if code, _ := get(t, srv.URL+"/readyz"); code != 200 {
		t.Fatalf("readyz ready: %d", code)
	}
	d.checkDisk()
	d.observe(context.Background(), []inventory.Entry{{State: inventory.Stuck}, {State: inventory.Pending}}, 0)
	_, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		"# HELP jibri_recordings_uploaded_total", "jibri_recordings_failed_total", "jibri_upload_bytes_total",
		"jibri_upload_seconds_bucket", `jibri_recordings{state="stuck"} 1`, `jibri_recordings{state="pending"} 1`,
		"jibri_oldest_pending_age_seconds", "jibri_recordings_free_disk_bytes", "jibri_recordings_disk_low 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestLowDiskWarning(t *testing.T) {
	d := New(Options{Root: t.TempDir(), FreeWarnBytes: 1 << 62}, nil, zerolog.Nop(), NewMetrics(), nil, nil, nil)
	d.checkDisk()
	if !d.lowDisk {
		t.Fatal("no low-disk warning with an impossible threshold")
	}
}

func TestShipSpool(t *testing.T) {
	dir := t.TempDir()
	spool := metrics.Spool(dir)
	sink := metrics.FileSink{Path: spool}
	for i := 0; i < 3; i++ {
		doc, _ := metrics.Record{Outcome: metrics.OutcomeSuccess}.EMF("", "t", timeNow())
		if err := sink.Emit(doc); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := os.OpenFile(spool, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"torn":` + "\n")
	f.Close()
	var got []string
	n, err := shipSpool(spool, func(b []byte) error { got = append(got, string(b)); return nil })
	if err != nil || n != 3 || len(got) != 3 {
		t.Fatalf("shipped %d (%v), %v", n, got, err)
	}
	left, _ := filepath.Glob(spool + "*")
	if len(left) != 0 {
		t.Fatalf("spool left behind: %v", left)
	}
	if n, err := shipSpool(spool, nil); n != 0 || err != nil {
		t.Fatalf("empty spool: %d %v", n, err)
	}
}
