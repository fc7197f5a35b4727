package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
)

// headBytes is how much of an object's first request body the null
// endpoint keeps: the framing of a first aws-chunked chunk and the first
// few box headers.
const headBytes = 4 << 10

// headCapture keeps the first headBytes of a request body read through it.
type headCapture struct {
	io.ReadCloser
	buf []byte
}

func (c *headCapture) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if room := headBytes - len(c.buf); room > 0 && n > 0 {
		c.buf = append(c.buf, p[:min(n, room)]...)
	}
	return n, err
}

// isChunked reports whether a request body is aws-chunked framing.
func isChunked(h http.Header) bool {
	for _, v := range h.Values("Content-Encoding") {
		if strings.Contains(strings.ToLower(v), "aws-chunked") {
			return true
		}
	}
	return strings.HasPrefix(h.Get("X-Amz-Content-Sha256"), "STREAMING-")
}

// dechunk returns the payload at the start of an aws-chunked body, as far
// as raw (a prefix of the body) holds it.
func dechunk(raw []byte) []byte {
	var out []byte
	for {
		line, rest, ok := bytes.Cut(raw, []byte("\r\n"))
		if !ok {
			return out
		}
		size, _, _ := strings.Cut(string(line), ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if err != nil || n <= 0 {
			return out
		}
		if int64(len(rest)) < n {
			return append(out, rest...)
		}
		out = append(out, rest[:n]...)
		raw = bytes.TrimPrefix(rest[n:], []byte("\r\n"))
	}
}

// boxesOf lists the top-level box types whose headers lie in the first
// bytes of a file.
func boxesOf(head []byte) []string {
	boxes, _ := mp4.TopLevel(bytes.NewReader(head), int64(len(head)))
	var out []string
	for _, b := range boxes {
		out = append(out, b.Type)
	}
	return out
}

// storedJSON is what the null endpoint received as one recording's media.
type storedJSON struct {
	Key       string   `json:"key"`
	Bytes     int64    `json:"bytes"`      // the object's size (HeadObject)
	WantBytes int64    `json:"want_bytes"` // the file's, or its faststart layout's
	Boxes     []string `json:"first_boxes"`
	WantBoxes []string `json:"want_first_boxes"`
}

// stored checks what tool stored on the null endpoint t for each of recs
// (real MP4s made from mf) in the run just done: finalize with faststart
// stores the rearranged file (ftyp, moov first, the layout's size), every
// other tool the file as it is.
func (b *bench) stored(ctx context.Context, t *target, tool string, recs []recording, mf *mediaFile) ([]storedJSON, error) {
	want, wantBoxes := mf.size, mf.boxes[:min(2, len(mf.boxes))]
	if tool == toolOurs {
		size, err := fastStartSize(mf.path)
		if err != nil {
			return nil, err
		}
		want, wantBoxes = size, []string{"ftyp", "moov"}
	}
	var out []storedJSON
	for _, r := range recs {
		var key string
		n := t.null
		n.mu.Lock()
		for k := range n.heads {
			if strings.Contains(k, r.session) && strings.HasSuffix(k, r.name) {
				key = k
			}
		}
		n.mu.Unlock()
		head, ok := n.head(key)
		if !ok {
			return nil, fmt.Errorf("the null endpoint received no upload of %s", r.media)
		}
		obj, err := t.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(benchBucket), Key: aws.String(key)})
		if err != nil {
			return nil, fmt.Errorf("cannot head %s on the null endpoint: %w", key, err)
		}
		s := storedJSON{Key: key, Bytes: aws.ToInt64(obj.ContentLength), WantBytes: want, Boxes: boxesOf(head), WantBoxes: wantBoxes}
		if s.Bytes != s.WantBytes || len(s.Boxes) < len(wantBoxes) || !slices.Equal(s.Boxes[:len(wantBoxes)], wantBoxes) {
			return nil, fmt.Errorf("stored %s: %d bytes starting with boxes %v, want %d bytes starting with %v", key, s.Bytes, s.Boxes, s.WantBytes, s.WantBoxes)
		}
		out = append(out, s)
	}
	return out, nil
}
