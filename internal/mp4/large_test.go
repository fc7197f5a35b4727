package mp4

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/mediatest"
)

// countingReader counts what Inspect reads and fails any read inside
// [forbidFrom, forbidTo): the media payload.
type countingReader struct {
	r interface {
		ReadAt([]byte, int64) (int, error)
	}
	forbidFrom, forbidTo int64
	bytes, reads         atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.bytes.Add(int64(len(p)))
	c.reads.Add(1)
	if off < c.forbidTo && off+int64(len(p)) > c.forbidFrom {
		return 0, fmt.Errorf("read of %d bytes at %d is inside the media payload [%d, %d)", len(p), off, c.forbidFrom, c.forbidTo)
	}
	return c.r.ReadAt(p, off)
}

// virtualFile is ftyp, a 64-bit mdat of mdatSize payload bytes that exist
// nowhere (reading them is an error), then a moov.
type virtualFile struct {
	head, moov []byte
	mdatEnd    int64
}

func (v *virtualFile) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		o := off + int64(i)
		switch {
		case o < int64(len(v.head)):
			p[i] = v.head[o]
		case o >= v.mdatEnd && o-v.mdatEnd < int64(len(v.moov)):
			p[i] = v.moov[o-v.mdatEnd]
		case o >= v.mdatEnd:
			return i, fmt.Errorf("read past the end at %d", o)
		default:
			p[i] = 0
		}
	}
	return len(p), nil
}

// TestLargeFileReadsOnlyIndex: a 4 GiB recording (64-bit mdat size, moov at
// the end) is inspected without reading a byte of its media, with a few
// dozen small reads.
func TestLargeFileReadsOnlyIndex(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "samples", "plain", "recording.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	boxes, err := TopLevel(bytesReaderAt(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	ftyp, moov := boxes[0], boxes[len(boxes)-1]
	if ftyp.Type != "ftyp" || moov.Type != "moov" {
		t.Fatalf("sample layout %v", boxes)
	}
	const payload = 4 << 30
	head := append([]byte(nil), b[:ftyp.End()]...)
	head = binary.BigEndian.AppendUint32(head, 1)
	head = append(head, "mdat"...)
	head = binary.BigEndian.AppendUint64(head, 16+payload)
	v := &virtualFile{head: head, moov: b[moov.Offset:moov.End()], mdatEnd: int64(len(head)) + payload}
	size := v.mdatEnd + int64(len(v.moov))
	cr := &countingReader{r: v, forbidFrom: int64(len(head)), forbidTo: v.mdatEnd}

	info, err := Inspect(cr, size)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Playable || info.Duration != time.Second || info.Faststart {
		t.Fatalf("playable %v (%s), duration %v, faststart %v", info.Playable, info.Reason, info.Duration, info.Faststart)
	}
	if mdat := info.Boxes[1]; mdat.Type != "mdat" || mdat.HeaderSize != 16 || mdat.Size != 16+payload {
		t.Fatalf("mdat %v", mdat)
	}
	t.Logf("%d reads, %d bytes for a %d-byte file", cr.reads.Load(), cr.bytes.Load(), size)
	if n := cr.bytes.Load(); n > int64(len(v.moov))+4096 {
		t.Errorf("Inspect read %d bytes; the index is %d", n, len(v.moov))
	}
}

// TestHourLong makes an hour of recording (plain and fragmented) on the fly
// and checks Inspect against ffprobe and what it reads. It costs about a
// minute of CPU per file, so it runs with JIBRI_S3_LONG_MEDIA=1 (make
// media-long); $JIBRI_S3_MEDIA_CACHE keeps the files between runs.
func TestHourLong(t *testing.T) {
	if os.Getenv("JIBRI_S3_LONG_MEDIA") != "1" {
		t.Skip("an hour of media per variant: run with JIBRI_S3_LONG_MEDIA=1 (make media-long)")
	}
	ffmpeg := mediatest.Require(t)
	ffprobe := filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
	for _, v := range []mediatest.Variant{mediatest.Plain, mediatest.Fragmented} {
		t.Run(v.String(), func(t *testing.T) {
			path := mediatest.Make(t, mediatest.Spec{Variant: v, Length: time.Hour, Size: "160x120"})
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			cr := &countingReader{r: f}
			info, err := Inspect(cr, fi.Size())
			if err != nil {
				t.Fatal(err)
			}
			out, failure := runProbe(t, ffprobe, path)
			compareProbe(t, info, out, failure)
			t.Logf("%s: %d bytes, %d fragments, duration %v: %d reads, %d bytes read", v, fi.Size(), info.Fragments, info.Duration, cr.reads.Load(), cr.bytes.Load())
			if info.Duration < time.Hour {
				t.Errorf("duration %v, want an hour", info.Duration)
			}
		})
	}
}
