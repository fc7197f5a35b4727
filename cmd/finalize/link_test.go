package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/event"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/outbox"
	"github.com/jitsi-recorder/jibri-s3/internal/webhook/webhooktest"
)

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET link: %d %v", resp.StatusCode, err)
	}
	return b
}

// TestWebhookAndLinkMinIO: the hook delivers the event (signed, with a
// working link) right after the commit, leaves nothing in the outbox, and
// `finalize link` prints working links by session id and by manifest key.
func TestWebhookAndLinkMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	srv.Bucket(t, "recordings")
	recv := webhooktest.Start(t, "whsec_cli")
	env := baseEnv(t, srv.Endpoint, "AWS_ACCESS_KEY_ID="+miniotest.AccessKey, "AWS_SECRET_ACCESS_KEY="+miniotest.SecretKey,
		"JIBRI_UPLOAD_WEBHOOK="+recv.URL, "JIBRI_UPLOAD_WEBHOOK_SECRET=whsec_cli", "JIBRI_UPLOAD_LINK_EXPIRY=2h", "JIBRI_UPLOAD_METRICS_FILE=none")
	dir := recording(t, 6<<20+17)
	media, err := os.ReadFile(filepath.Join(dir, mediaName(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	res := runBinary(t, env, nil, dir)
	if res.code != 0 {
		t.Fatalf("finalize: %d\n%s", res.code, res.stderr)
	}
	if strings.Contains(res.stderr, "whsec_cli") || strings.Contains(res.stderr, "receiver-token") || strings.Contains(res.stderr, "X-Amz-Signature") {
		t.Fatalf("a secret, the URL's token or a link in the log:\n%s", res.stderr)
	}
	ds := recv.Deliveries()
	if len(ds) != 1 || !ds[0].Verified || ds[0].Status != 204 {
		t.Fatalf("deliveries %+v", ds)
	}
	ev, err := event.Decode(ds[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	lk := ev.Objects[0].Link
	if lk == nil || lk.ExpiresAt.Before(time.Now().Add(110*time.Minute)) || lk.ExpiresAt.After(time.Now().Add(2*time.Hour)) {
		t.Fatalf("link %+v", lk)
	}
	if string(get(t, lk.URL)) != string(media) {
		t.Fatal("the event's link serves other bytes")
	}
	if ids, _ := outbox.Open(filepath.Dir(dir)).IDs(); len(ids) != 0 {
		t.Fatalf("delivered event still in the outbox: %v", ids)
	}

	out := runBinary(t, env, nil, "link", ev.Recording.SessionID)
	if out.code != 0 || !strings.Contains(out.stdout, "link valid until") {
		t.Fatalf("link by session: %d\n%s\n%s", out.code, out.stdout, out.stderr)
	}
	var url string
	for _, l := range strings.Split(out.stdout, "\n") {
		if s := strings.TrimSpace(l); strings.HasPrefix(s, "http") {
			url = s
		}
	}
	if string(get(t, url)) != string(media) {
		t.Fatal("finalize link serves other bytes")
	}
	js := runBinary(t, env, nil, "link", "--json", "--expiry", "30m", ev.Manifest.Key)
	var doc struct {
		ManifestKey string `json:"manifest_key"`
		Links       []struct {
			URL       string    `json:"url"`
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"links"`
	}
	if js.code != 0 || json.Unmarshal([]byte(js.stdout), &doc) != nil || doc.ManifestKey != ev.Manifest.Key || len(doc.Links) != 1 ||
		doc.Links[0].ExpiresAt.After(time.Now().Add(30*time.Minute)) {
		t.Fatalf("link --json: %d\n%s\n%s", js.code, js.stdout, js.stderr)
	}
	if nf := runBinary(t, env, nil, "link", "no-such-session"); nf.code != exitUsage || !strings.Contains(nf.stderr, "no committed recording matches") {
		t.Fatalf("unknown session: %d\n%s", nf.code, nf.stderr)
	}
}

func mediaName(t *testing.T, dir string) string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if de.Name() != "metadata.json" {
			return de.Name()
		}
	}
	t.Fatal("no media")
	return ""
}
