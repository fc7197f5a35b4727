package mp4

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzInspect: no input makes Inspect, TopLevel or ChunkOffsets panic or
// loop; a reader that never fails gives no error from Inspect; what Inspect
// reports is consistent. Seeds: the committed samples (whole and cut) and
// testdata/fuzz/FuzzInspect.
func FuzzInspect(f *testing.F) {
	for _, name := range []string{"plain", "killed", "fragmented"} {
		b, err := os.ReadFile(filepath.Join("testdata", "samples", name, "recording.mp4"))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 64<<10 {
			// The mdat payload teaches the fuzzer nothing: keep its head.
			b = b[:4096]
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytesReaderAt(b)
		info, err := Inspect(r, int64(len(b)))
		if err != nil {
			t.Fatalf("Inspect failed on a reader that cannot fail: %v", err)
		}
		if info.Playable == (info.Reason != "") {
			t.Fatalf("playable %v with reason %q", info.Playable, info.Reason)
		}
		if info.Playable && (!info.HasMoov || len(info.Tracks) == 0) {
			t.Fatalf("playable without a moov or tracks: %+v", info)
		}
		if info.Duration < 0 {
			t.Fatalf("negative duration %v", info.Duration)
		}
		boxes, err := TopLevel(r, int64(len(b)))
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("TopLevel: %v is not ErrMalformed", err)
		}
		var end int64
		for _, bx := range boxes {
			if bx.Offset != end || bx.Size < bx.HeaderSize {
				t.Fatalf("box %v does not follow the previous one (end %d)", bx, end)
			}
			end = bx.End()
			if bx.Type != "moov" || bx.Truncated {
				continue
			}
			tables, err := ChunkOffsets(r, bx)
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("ChunkOffsets: %v is not ErrMalformed", err)
			}
			for _, tb := range tables {
				if tb.EntriesOffset+int64(tb.Count)*int64(tb.EntrySize) > tb.Box.End() {
					t.Fatalf("chunk table %+v overruns its box", tb)
				}
				if tb.Count > 0 {
					if _, err := tb.Entry(r, tb.Count-1); err != nil {
						t.Fatalf("last entry of a checked table: %v", err)
					}
				}
			}
		}
	})
}
