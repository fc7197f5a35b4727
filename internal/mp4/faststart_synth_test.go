package mp4_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
)

func box(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	p := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(p, uint32(8+len(body)))
	copy(p[4:], typ)
	return append(p, body...)
}

func u32s(v ...uint32) []byte {
	p := make([]byte, 4*len(v))
	for i, x := range v {
		binary.BigEndian.PutUint32(p[4*i:], x)
	}
	return p
}

// moovFor is the smallest moov Inspect calls playable: one track whose
// chunks (one sample each, chunkLen bytes) start at the given offsets;
// extra boxes go into its minf (before the stbl).
func moovFor(offsets []uint32, chunkLen uint32, extra ...[]byte) []byte {
	n := uint32(len(offsets))
	mvhd := box("mvhd", u32s(0, 0, 0, 1000, 1000), make([]byte, 80))
	tkhd := box("tkhd", u32s(0, 0, 0, 1, 0, 1000), make([]byte, 60))
	mdhd := box("mdhd", u32s(0, 0, 0, 1000, 1000, 0))
	hdlr := box("hdlr", u32s(0, 0), []byte("data"), make([]byte, 13))
	stsd := box("stsd", u32s(0, 0))
	stsz := box("stsz", u32s(0, chunkLen, n))
	stco := box("stco", u32s(0, n), u32s(offsets...))
	minf := box("minf", bytes.Join(extra, nil), box("stbl", stsd, stsz, stco))
	return box("moov", mvhd, box("trak", tkhd, box("mdia", mdhd, hdlr, minf)))
}

// synth builds ftyp, free, mdat (chunks of chunkLen distinct bytes), moov
// (with extra boxes in its minf).
func synth(t testing.TB, chunks int, chunkLen uint32, extra ...[]byte) (*bytes.Reader, int64) {
	ftyp := box("ftyp", []byte("isom"), u32s(512), []byte("isomiso2mp41"))
	free := box("free")
	payload := make([]byte, chunks*int(chunkLen))
	for i := range payload {
		payload[i] = byte(i*7 + i/251)
	}
	base := uint32(len(ftyp) + len(free) + 8)
	var offs []uint32
	for i := 0; i < chunks; i++ {
		offs = append(offs, base+uint32(i)*chunkLen)
	}
	file := bytes.Join([][]byte{ftyp, free, box("mdat", payload), moovFor(offs, chunkLen, extra...)}, nil)
	return bytes.NewReader(file), int64(len(file))
}

// sparse is a file of size bytes, zeros but for the parts written.
type sparse struct {
	size  int64
	parts []sparsePart
}

type sparsePart struct {
	off  int64
	data []byte
}

func (s *sparse) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.size-off))
	clear(p[:n])
	for _, part := range s.parts {
		lo, hi := max(off, part.off), min(off+int64(n), part.off+int64(len(part.data)))
		if lo < hi {
			copy(p[lo-off:hi-off], part.data[lo-part.off:hi-part.off])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// checkChunks proves that every chunk offset of the object points at the
// bytes the same entry pointed at in the source.
func checkChunks(t testing.TB, src io.ReaderAt, srcSize int64, obj *mp4.Faststart) {
	t.Helper()
	tables := func(r io.ReaderAt, size int64) []mp4.ChunkTable {
		boxes, err := mp4.TopLevel(r, size)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range boxes {
			if b.Type == "moov" {
				ts, err := mp4.ChunkOffsets(r, b)
				if err != nil {
					t.Fatal(err)
				}
				return ts
			}
		}
		t.Fatal("no moov")
		return nil
	}
	a, b := tables(src, srcSize), tables(obj, obj.Size())
	if len(a) != len(b) {
		t.Fatalf("%d chunk tables, the source has %d", len(b), len(a))
	}
	for i := range a {
		if a[i].Count != b[i].Count {
			t.Fatalf("table %d: %d entries, the source has %d", i, b[i].Count, a[i].Count)
		}
		for j := uint32(0); j < a[i].Count; j++ {
			so, err := a[i].Entry(src, j)
			if err != nil {
				t.Fatal(err)
			}
			oo, err := b[i].Entry(obj, j)
			if err != nil {
				t.Fatal(err)
			}
			n := min(16, srcSize-int64(so), obj.Size()-int64(oo))
			x, y := make([]byte, n), make([]byte, n)
			if _, err := src.ReadAt(x, int64(so)); err != nil {
				t.Fatal(err)
			}
			if _, err := obj.ReadAt(y, int64(oo)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(x, y) {
				t.Fatalf("table %d chunk %d: source offset %d holds %x, object offset %d holds %x", i, j, so, x, oo, y)
			}
		}
	}
}

func TestFaststartSynthetic(t *testing.T) {
	src, size := synth(t, 5, 300)
	fs, err := mp4.NewFaststart(src, size)
	if err != nil {
		t.Fatal(err)
	}
	if fs.Size() != size {
		t.Errorf("size %d, want %d", fs.Size(), size)
	}
	checkChunks(t, src, size, fs)
}

// TestFaststartOtherOffsets: a moov whose data lives in another file, or
// with offsets the rewriter does not shift, is kept as it is; a dinf that
// says "this file" is rearranged.
func TestFaststartOtherOffsets(t *testing.T) {
	dinf := func(flags uint32) []byte {
		return box("dinf", box("dref", u32s(0, 1), box("url ", u32s(flags))))
	}
	saio := box("stbl", box("saio", u32s(0, 1, 100)))
	for _, c := range []struct {
		name  string
		extra []byte
		why   string
	}{
		{"self-contained", dinf(1), ""},
		{"media elsewhere", dinf(0), "outside the file"},
		{"saio", saio, "saio"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, size := synth(t, 3, 100, c.extra)
			_, err := mp4.NewFaststart(src, size)
			switch {
			case c.why == "" && err != nil:
				t.Fatal(err)
			case c.why != "" && (!errors.Is(err, mp4.ErrNotRearranged) || !strings.Contains(err.Error(), c.why)):
				t.Fatalf("NewFaststart = %v; want ErrNotRearranged saying %q", err, c.why)
			}
		})
	}
}

// TestFaststartWiden: chunks just below 4 GiB in the source land past it
// once the moov moves in front of them, so the 32-bit stco must become a
// co64 (and the moov, trak, mdia, minf and stbl grow with it). The file is
// sparse: only its boxes and the chunks are real bytes.
func TestFaststartWiden(t *testing.T) {
	const chunkLen = 16
	ftyp := box("ftyp", []byte("isom"), u32s(512))
	start := int64(math.MaxUint32 - 200) // first chunk
	free := make([]byte, 8)
	binary.BigEndian.PutUint32(free, uint32(start-8-int64(len(ftyp))))
	copy(free[4:], "free")
	offs := []uint32{uint32(start), uint32(start + chunkLen), uint32(start + 2*chunkLen)}
	payload := []byte("chunk one.......chunk two.......chunk three.....")
	mdat := box("mdat", payload)
	mdatAt := start - 8
	moov := moovFor(offs, chunkLen)
	moovAt := mdatAt + int64(len(mdat))
	src := &sparse{size: moovAt + int64(len(moov)), parts: []sparsePart{
		{0, ftyp}, {int64(len(ftyp)), free}, {mdatAt, mdat}, {moovAt, moov},
	}}
	fs, err := mp4.NewFaststart(src, src.size)
	if err != nil {
		t.Fatal(err)
	}
	if fs.Widened() != 1 || fs.Size() != src.size+4*int64(len(offs)) || fs.MoovSize() != int64(len(moov))+4*int64(len(offs)) {
		t.Fatalf("widened %d, size %d (source %d), moov %d (source %d)", fs.Widened(), fs.Size(), src.size, fs.MoovSize(), len(moov))
	}
	info, err := mp4.Inspect(fs, fs.Size())
	if err != nil {
		t.Fatal(err)
	}
	if !info.Faststart || !info.Playable {
		t.Fatalf("object: faststart %v, playable %v: %s", info.Faststart, info.Playable, info.Reason)
	}
	checkChunks(t, src, src.size, fs)
	boxes, _ := mp4.TopLevel(fs, fs.Size())
	tables, err := mp4.ChunkOffsets(fs, boxes[1])
	if err != nil || len(tables) != 1 || tables[0].Box.Type != "co64" {
		t.Fatalf("object tables %+v, %v; want one co64", tables, err)
	}
}

// FuzzFaststart: whatever the input, NewFaststart either refuses it with
// ErrNotRearranged (or fails to read) or returns an object that reads
// whole, puts the moov first and keeps every chunk offset pointing at the
// same bytes.
func FuzzFaststart(f *testing.F) {
	src, _ := synth(f, 4, 64)
	seed, _ := io.ReadAll(src)
	f.Add(seed)
	f.Add(seed[:len(seed)-3]) // the moov cut off
	f.Add([]byte{0, 0, 0, 8, 'f', 't', 'y', 'p'})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		fs, err := mp4.NewFaststart(r, int64(len(data)))
		if err != nil {
			if !errors.Is(err, mp4.ErrNotRearranged) {
				t.Fatalf("an in-memory file failed with %v, not ErrNotRearranged", err)
			}
			return
		}
		obj := make([]byte, fs.Size())
		if n, err := fs.ReadAt(obj, 0); n != len(obj) || err != nil {
			t.Fatalf("ReadAt = %d, %v; want %d", n, err, len(obj))
		}
		info, err := mp4.Inspect(bytes.NewReader(obj), int64(len(obj)))
		if err != nil || !info.Faststart || !info.Playable {
			t.Fatalf("object: %+v, %v", info, err)
		}
		checkChunks(t, r, int64(len(data)), fs)
	})
}
