package chromiumtest_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/chromiumtest"
	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

// countingProxy sits between the browser and MinIO: it serves the test
// page itself (so the video is same-origin and can be drawn to a canvas)
// and forwards everything else, counting the response body bytes it sends
// for each object path. /mark?path=P answers how many bytes of P were sent
// so far: the page calls it from its loadedmetadata handler.
type countingProxy struct {
	mu    sync.Mutex
	sent  map[string]int64
	reqs  map[string][]string // Range headers asked, per path
	page  string
	proxy *httputil.ReverseProxy
}

func newCountingProxy(t *testing.T, target, page string) (*countingProxy, *httptest.Server) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{sent: map[string]int64{}, reqs: map[string][]string{}, page: page}
	// The default director keeps the incoming Host header, which is the
	// host the URL was presigned for.
	p.proxy = httputil.NewSingleHostReverseProxy(u)
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return p, s
}

// ranges returns the Range headers of the requests for path, in order.
func (p *countingProxy) ranges(path string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.reqs[path]))
	for _, r := range p.reqs[path] {
		if r == "" {
			r = "(whole)"
		}
		out = append(out, r)
	}
	return out
}

func (p *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_test/page":
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, p.page)
		return
	case "/_test/mark":
		path := r.URL.Query().Get("path")
		p.mu.Lock()
		sent, reqs := p.sent[path], len(p.reqs[path])
		p.mu.Unlock()
		_, _ = fmt.Fprintf(w, `{"bytes":%d,"requests":%d}`, sent, reqs)
		return
	}
	p.mu.Lock()
	p.reqs[r.URL.Path] = append(p.reqs[r.URL.Path], r.Header.Get("Range"))
	p.mu.Unlock()
	time.Sleep(linkRTT) // a request's round trip before its first byte
	p.proxy.ServeHTTP(&countingWriter{ResponseWriter: w, p: p, path: r.URL.Path}, r)
}

type countingWriter struct {
	http.ResponseWriter
	p    *countingProxy
	path string
}

// Write sends b in small pieces at linkRate, each counted once written:
// a link as fast as loopback would hand the browser the whole test file
// before it could decide what it needs, and count nothing but the file size.
func (c *countingWriter) Write(b []byte) (int, error) {
	var total int
	for len(b) > 0 {
		piece := b[:min(len(b), 16<<10)]
		n, err := c.ResponseWriter.Write(piece)
		c.Flush()
		c.p.mu.Lock()
		c.p.sent[c.path] += int64(n)
		c.p.mu.Unlock()
		total += n
		if err != nil {
			return total, err
		}
		b = b[n:]
		time.Sleep(time.Duration(n) * time.Second / linkRate)
	}
	return total, nil
}

// The proxy's link: bandwidth in bytes per second and round-trip time.
const (
	linkRate = 4 << 20
	linkRTT  = 50 * time.Millisecond
)

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

const page = `<!doctype html><html><body><canvas id="c"></canvas></body></html>`

// playScript loads arguments[0] in a <video>, and when loadedmetadata fires
// asks the proxy how many bytes were sent so far (arguments[1]), then waits
// for a decoded frame, draws it to a canvas and counts distinct colours.
const playScript = `
const [src, mark, done] = arguments;
const v = document.createElement('video');
v.muted = true;
v.preload = 'metadata';
const fail = (why) => done({error: why});
v.addEventListener('error', () => fail('media error ' + (v.error ? v.error.code + ' ' + v.error.message : '')));
v.addEventListener('loadedmetadata', async () => {
  try {
    const ms = performance.now() - t0;
    const m = await (await fetch(mark)).json();
    const duration = v.duration;
    // A frame the compositor presented, not merely readyState: play until
    // the first one is shown.
    const shown = new Promise((res) => v.requestVideoFrameCallback(() => res()));
    v.preload = 'auto';
    await v.play();
    await shown;
    v.pause();
    const c = document.getElementById('c');
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d', {willReadFrequently: true});
    g.drawImage(v, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    for (let i = 0; i < px.length; i += 4 * 97) colours.add(((px[i] >> 4) << 8) | ((px[i+1] >> 4) << 4) | (px[i+2] >> 4));
    done({duration, fetched: m.bytes, requests: m.requests, ms, width: v.videoWidth, height: v.videoHeight, colours: colours.size});
  } catch (e) { fail(String(e)); }
}, {once: true});
const t0 = performance.now();
v.src = src;
document.body.appendChild(v);
`

type played struct {
	Error    string  `json:"error"`
	Duration float64 `json:"duration"`
	Fetched  int64   `json:"fetched"`
	Requests int     `json:"requests"`
	Millis   float64 `json:"ms"`
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	Colours  int     `json:"colours"`
}

// TestPlayback plays the same recording from MinIO in a real Chromium,
// stored once in its original layout (moov after mdat, as Jibri's ffmpeg
// leaves it) and once rearranged with moov first, through presigned URLs
// for a counting proxy. It asserts that loadedmetadata fires with the
// duration of the file and that a decoded frame reaches a canvas, and
// reports the bytes each layout needed before loadedmetadata.
func TestPlayback(t *testing.T) {
	browser := chromiumtest.Start(t)
	// Ten minutes (a 30-second recording played 20 times over, by stream
	// copy): a moov of a few hundred KB, as a real meeting's.
	src := mediatest.Loop(t, mediatest.Make(t, mediatest.Spec{Variant: mediatest.Plain, Length: 30 * time.Second}), t.TempDir(), 20)
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "playback")
	counter, proxy := newCountingProxy(t, srv.Endpoint, page)
	ctx := context.Background()

	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	info, err := mp4.Inspect(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if info.Faststart {
		t.Fatal("the recording already has its moov first: the test needs Jibri's layout")
	}
	want := probeDuration(t, src)

	conn := srv.Conn()
	conn.Endpoint = proxy.URL
	viaProxy, err := s3conn.New(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	presign := s3.NewPresignClient(viaProxy)
	// The browser goes before the proxy it may still be streaming from.
	t.Cleanup(browser.Stop)
	var rows []string
	for _, layout := range []struct {
		name      string
		faststart bool
	}{{"faststart", true}, {"original", false}} {
		key := "rec-" + layout.name + ".mp4"
		size := store(t, srv, bucket, key, src, layout.faststart)
		stored := objectInfo(t, srv, bucket, key)
		if stored.Faststart != layout.faststart {
			t.Fatalf("%s: the stored object has faststart %v", layout.name, stored.Faststart)
		}
		req, err := presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, s3.WithPresignExpires(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(req.URL)
		if err != nil {
			t.Fatal(err)
		}
		// A fresh page per layout: the previous video stops loading.
		if err := browser.Navigate(proxy.URL + "/_test/page"); err != nil {
			t.Fatal(err)
		}
		var got played
		mark := "/_test/mark?path=" + url.QueryEscape(u.Path)
		if err := browser.ExecuteAsync(playScript, time.Minute, &got, req.URL, mark); err != nil {
			t.Fatalf("%s: %v", layout.name, err)
		}
		if got.Error != "" {
			t.Fatalf("%s: the browser could not play it: %s", layout.name, got.Error)
		}
		if math.Abs(got.Duration-want) > 0.05 || math.Abs(got.Duration-info.Duration.Seconds()) > 0.05 {
			t.Errorf("%s: loadedmetadata duration %.3f s; ffprobe says %.3f s, the mp4 reader %.3f s", layout.name, got.Duration, want, info.Duration.Seconds())
		}
		if got.Width != 1280 || got.Height != 720 || got.Colours < 8 {
			t.Errorf("%s: first frame %dx%d with %d distinct colours sampled: not a rendered test pattern", layout.name, got.Width, got.Height, got.Colours)
		}
		rows = append(rows, fmt.Sprintf("| %s | %d | %d | %.1f%% | %d | %.0f | %.3f | %s |", layout.name, size, got.Fetched,
			100*float64(got.Fetched)/float64(size), got.Requests, got.Millis, got.Duration, strings.Join(counter.ranges(u.Path), ", ")))
		t.Logf("%s: %d of %d bytes in %d requests before loadedmetadata (%.0f ms), duration %.3f s", layout.name, got.Fetched, size, got.Requests, got.Millis, got.Duration)
	}
	report(t, src, info, rows)
}

func probeDuration(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("ffprobe duration %q: %v", out, err)
	}
	return d
}

// report prints the table and writes it to $PLAYBACK_REPORT when set
// (make playback: bench/out/playback.md).
func report(t *testing.T, src string, info *mp4.Info, rows []string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# Bytes a browser fetches before loadedmetadata\n\n")
	fmt.Fprintf(&b, "Headless Chromium (%s) plays a presigned URL for MinIO through a proxy that counts response bytes and sends at %d MiB/s after a %v round trip per request.\n", chromiumVersion(), linkRate>>20, linkRTT)
	fmt.Fprintf(&b, "Recording: mediatest Plain (Jibri's ffmpeg settings, 1280x720), %s, %v, moov %d bytes after the media, tracks:", filepath.Base(src), info.Duration, moovSize(info))
	for _, tr := range info.Tracks {
		fmt.Fprintf(&b, " %s %s", tr.Handler, tr.CodecString)
	}
	fmt.Fprintf(&b, ".\n\n| layout | object bytes | bytes before loadedmetadata | share | requests | ms to loadedmetadata | duration (s) | Range headers (all requests) |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	fmt.Print(b.String())
	if p := os.Getenv("PLAYBACK_REPORT"); p != "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func moovSize(info *mp4.Info) int64 {
	for _, b := range info.Boxes {
		if b.Type == "moov" {
			return b.Size
		}
	}
	return 0
}

func chromiumVersion() string {
	chromium, _ := chromiumtest.Binaries()
	out, err := exec.Command(chromium, "--version").Output()
	if err != nil {
		return "version unknown"
	}
	return strings.TrimSpace(string(out))
}
