package mp4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// ErrNotRearranged is wrapped by NewFaststart's answer for a file that is
// to be stored as it is: its moov already comes first, it is fragmented,
// it has no moov (unplayable: rearranging cannot help), or its structure
// is not one the rewriter proves it can move.
var ErrNotRearranged = errors.New("mp4: file is kept in its own layout")

// MaxMoov bounds the moov a Faststart keeps in memory. A six-hour 30 fps
// recording with AAC audio has a moov of about 15 MiB.
const MaxMoov = 256 << 20

// FaststartLayout names the byte layout a Faststart produces. Resumable
// uploads record it with their parts: the same file always gives the same
// bytes under the same name, so parts checksummed by an earlier run stay
// valid, and a change of this rewriter's output must change the name.
const FaststartLayout = "faststart-v1"

// Faststart is a file rearranged so that its moov comes before its media:
// ftyp, then the moov with every chunk offset shifted to the media's new
// position, then every other top-level box in file order (free and skip
// boxes included: they are kept, so the object is as large as the file
// unless a 32-bit chunk offset table had to become a 64-bit one).
//
// It is an io.ReaderAt over the rearranged bytes. Only the moov is held in
// memory; every other byte is read from the source at its own offset when
// asked for, so a reader that reads the object once reads the file once.
type Faststart struct {
	src      io.ReaderAt
	segs     []segment // in object order, contiguous
	size     int64
	moovSize int64 // rewritten
	grown    int   // stco tables converted to co64
}

// segment is one run of the object: mem when set, else src[srcOff:].
type segment struct {
	off, n int64 // in the object
	srcOff int64
	mem    []byte
}

// NewFaststart plans the rearranged object of the file r of the given size.
// The answer wraps ErrNotRearranged when the file is to be stored as it is
// (with why), or is another error when r fails to read.
func NewFaststart(r io.ReaderAt, size int64) (*Faststart, error) {
	info, err := Inspect(r, size)
	if err != nil {
		return nil, err
	}
	switch {
	case !info.HasMoov:
		return nil, fmt.Errorf("%w: %s", ErrNotRearranged, reasonOr(info.Reason, "no moov"))
	case info.Fragmented:
		return nil, fmt.Errorf("%w: fragmented (each fragment carries its own index)", ErrNotRearranged)
	case info.Faststart:
		return nil, fmt.Errorf("%w: the moov already comes before the media", ErrNotRearranged)
	case !info.Playable:
		return nil, fmt.Errorf("%w: not playable: %s", ErrNotRearranged, info.Reason)
	case len(info.Notes) > 0:
		return nil, fmt.Errorf("%w: %s", ErrNotRearranged, info.Notes[0])
	}
	boxes := info.Boxes
	var moov Box
	for _, b := range boxes {
		if b.Truncated {
			return nil, fmt.Errorf("%w: box %s is cut off", ErrNotRearranged, b)
		}
		if b.Type == "moov" {
			moov = b
		}
	}
	if end := boxes[len(boxes)-1].End(); end != size {
		return nil, fmt.Errorf("%w: %d bytes after the last box", ErrNotRearranged, size-end)
	}
	if moov.Size > MaxMoov {
		return nil, fmt.Errorf("%w: the moov is %d bytes, more than the %d kept in memory", ErrNotRearranged, moov.Size, MaxMoov)
	}
	raw := make([]byte, moov.Size)
	if err := readFull(r, raw, moov.Offset); err != nil {
		return nil, err
	}
	f, err := rearrange(r, size, boxes, moov, raw)
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			return nil, fmt.Errorf("%w: %v", ErrNotRearranged, err)
		}
		return nil, err
	}
	return f, nil
}

func reasonOr(reason, def string) string {
	if reason == "" {
		return def
	}
	return reason
}

// rearrange builds the object from the top-level boxes and the moov's
// bytes raw (read from moov.Offset).
func rearrange(src io.ReaderAt, size int64, boxes []Box, moov Box, raw []byte) (*Faststart, error) {
	// The moov goes right after the ftyp (as ffmpeg's own faststart puts
	// it); every other box keeps its order.
	var order []Box
	for i, b := range boxes {
		if b.Type == "moov" {
			continue
		}
		order = append(order, b)
		if i == 0 {
			order = append(order, moov)
		}
	}
	local := moov
	local.Offset = 0
	mem := bytes.NewReader(raw)
	if err := movable(mem, local); err != nil {
		return nil, err
	}
	tables, err := ChunkOffsets(mem, local)
	if err != nil {
		return nil, err
	}
	convert := map[int64]bool{} // stco tables (by offset in raw) to widen
	for {
		out, err := rebuild(raw, local, convert)
		if err != nil {
			return nil, err
		}
		starts := placeBoxes(order, int64(len(out)))
		widened, err := shiftOffsets(raw, out, tables, boxes, starts, convert)
		if err != nil {
			return nil, err
		}
		if widened {
			continue // the moov grew: place and shift again
		}
		f := &Faststart{src: src, moovSize: int64(len(out)), grown: len(convert)}
		for _, b := range order {
			s := segment{off: starts[b.Offset], n: b.Size, srcOff: b.Offset}
			if b.Type == "moov" {
				s.n, s.mem = int64(len(out)), out
			}
			f.segs = append(f.segs, s)
		}
		last := f.segs[len(f.segs)-1]
		f.size = last.off + last.n
		return f, nil
	}
}

// movable refuses a moov with file offsets other than chunk offsets, which
// the rewriter does not shift: sample auxiliary information offsets (saio,
// of encrypted tracks) and media in another file (a dref entry that is not
// self-contained, whose chunk offsets are not this file's).
func movable(r io.ReaderAt, moov Box) error {
	bg := &budget{left: MaxBoxes}
	kids, err := children(r, moov.DataOffset(), moov.End(), bg)
	if err != nil {
		return err
	}
	for _, trak := range kids {
		if trak.Type != "trak" {
			continue
		}
		err := descend(r, trak, bg, func(b Box) error {
			switch b.Type {
			case "saio":
				return malformed("track at %d has sample auxiliary information offsets (saio), which are not moved", trak.Offset)
			case "dinf":
				return selfContained(r, b, bg)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// selfContained checks that every data reference of a dinf says "this
// file" (flag 1).
func selfContained(r io.ReaderAt, dinf Box, bg *budget) error {
	kids, err := children(r, dinf.DataOffset(), dinf.End(), bg)
	if err != nil {
		return err
	}
	for _, dref := range kids {
		if dref.Type != "dref" {
			continue
		}
		if dref.Size-dref.HeaderSize < 8 {
			return malformed("dref at %d is too short", dref.Offset)
		}
		entries, err := children(r, dref.DataOffset()+8, dref.End(), bg)
		if err != nil {
			return err
		}
		for _, e := range entries {
			var h [4]byte
			if e.Size-e.HeaderSize < 4 {
				return malformed("data reference at %d is too short", e.Offset)
			}
			if err := readFull(r, h[:], e.DataOffset()); err != nil {
				return err
			}
			if binary.BigEndian.Uint32(h[:])&1 == 0 {
				return malformed("data reference %q at %d points to media outside the file", e.Type, e.Offset)
			}
		}
	}
	return nil
}

// placeBoxes returns the object offset of each box (by source offset), the
// moov being moovSize bytes long.
func placeBoxes(order []Box, moovSize int64) map[int64]int64 {
	starts := make(map[int64]int64, len(order))
	var at int64
	for _, b := range order {
		starts[b.Offset] = at
		if b.Type == "moov" {
			at += moovSize
		} else {
			at += b.Size
		}
	}
	return starts
}

// shiftOffsets writes into out (the rebuilt moov) every chunk offset of
// raw's tables mapped to its place in the object. When a 32-bit table
// cannot hold a shifted offset it marks that table for conversion and
// reports widened, leaving out unfinished.
func shiftOffsets(raw, out []byte, tables []ChunkTable, boxes []Box, starts map[int64]int64, convert map[int64]bool) (widened bool, err error) {
	outTables, err := ChunkOffsets(bytes.NewReader(out), Box{Type: "moov", Size: int64(len(out)), HeaderSize: headerSize(out)})
	if err != nil {
		return false, err
	}
	if len(outTables) != len(tables) {
		return false, malformed("rebuilt moov has %d chunk tables, the original %d", len(outTables), len(tables))
	}
	for ti, t := range tables {
		o := outTables[ti]
		if o.Count != t.Count {
			return false, malformed("rebuilt chunk table %d has %d entries, the original %d", ti, o.Count, t.Count)
		}
		for i := int64(0); i < int64(t.Count); i++ {
			at := t.EntriesOffset + i*int64(t.EntrySize)
			var v uint64
			if t.EntrySize == 8 {
				v = binary.BigEndian.Uint64(raw[at:])
			} else {
				v = uint64(binary.BigEndian.Uint32(raw[at:]))
			}
			nv, err := mapOffset(v, boxes, starts)
			if err != nil {
				return false, fmt.Errorf("track %d, chunk %d: %w", t.TrackID, i, err)
			}
			w := o.EntriesOffset + i*int64(o.EntrySize)
			if o.EntrySize == 8 {
				binary.BigEndian.PutUint64(out[w:], nv)
				continue
			}
			if nv > math.MaxUint32 {
				convert[t.Box.Offset] = true
				return true, nil
			}
			binary.BigEndian.PutUint32(out[w:], uint32(nv))
		}
	}
	return false, nil
}

// mapOffset maps a file offset to the object: it must fall in a top-level
// box other than the moov, which moves as a whole.
func mapOffset(v uint64, boxes []Box, starts map[int64]int64) (uint64, error) {
	if v > math.MaxInt64 {
		return 0, malformed("chunk offset %d is out of range", v)
	}
	off := int64(v)
	i := sort.Search(len(boxes), func(i int) bool { return boxes[i].End() > off })
	if i == len(boxes) || boxes[i].Offset > off {
		return 0, malformed("chunk offset %d is outside every box", off)
	}
	b := boxes[i]
	if b.Type == "moov" {
		return 0, malformed("chunk offset %d points into the moov", off)
	}
	return uint64(starts[b.Offset] + off - b.Offset), nil
}

func headerSize(p []byte) int64 {
	if len(p) >= 8 && binary.BigEndian.Uint32(p) == 1 {
		return 16
	}
	return 8
}

// rebuild returns a copy of box b of buf with the stco tables in convert
// widened to co64 and every container on their path resized. Boxes are
// copied byte for byte otherwise; a box stored with size 0 gets its size.
func rebuild(buf []byte, b Box, convert map[int64]bool) ([]byte, error) {
	switch {
	case b.Type == "stco" && convert[b.Offset]:
		return widen(buf, b)
	case b.Type == "moov" || b.Type == "trak" || b.Type == "mdia" || b.Type == "minf" || b.Type == "stbl":
		if !touches(b, convert) {
			return fixedHeader(buf, b)
		}
		kids, err := children(bytes.NewReader(buf), b.DataOffset(), b.End(), &budget{left: MaxBoxes})
		if err != nil {
			return nil, err
		}
		var body []byte
		at := b.DataOffset()
		for _, k := range kids {
			if k.Offset != at {
				return nil, malformed("box %q at %d: gap before child at %d", b.Type, at, k.Offset)
			}
			p, err := rebuild(buf, k, convert)
			if err != nil {
				return nil, err
			}
			body = append(body, p...)
			at = k.End()
		}
		if at != b.End() {
			return nil, malformed("box %q: %d bytes after its last child", b.Type, b.End()-at)
		}
		return withHeader(b, body)
	default:
		return fixedHeader(buf, b)
	}
}

// typeExtra is the part of the header after size and type (a uuid's 16).
func typeExtra(b Box) int64 {
	if b.Type == "uuid" {
		return 16
	}
	return 0
}

// touches says whether a table to convert lies inside b.
func touches(b Box, convert map[int64]bool) bool {
	for off := range convert {
		if off >= b.Offset && off < b.End() {
			return true
		}
	}
	return false
}

// fixedHeader copies b, writing the real size of a box stored with size 0.
func fixedHeader(buf []byte, b Box) ([]byte, error) {
	if !b.ToEnd {
		return append([]byte(nil), buf[b.Offset:b.End()]...), nil
	}
	return withHeader(b, buf[b.Offset+8:b.End()])
}

// withHeader prefixes rest (everything after size and type of b's header
// when b has a 32-bit size, after the 64-bit size otherwise) with a header
// for the new length.
func withHeader(b Box, rest []byte) ([]byte, error) {
	large := b.HeaderSize-typeExtra(b) == 16
	if large {
		p := make([]byte, 16, 16+len(rest))
		binary.BigEndian.PutUint32(p, 1)
		copy(p[4:8], b.Type)
		binary.BigEndian.PutUint64(p[8:], uint64(16+len(rest)))
		return append(p, rest...), nil
	}
	n := 8 + int64(len(rest))
	if n > math.MaxUint32 {
		return nil, malformed("box %q would grow to %d bytes, past a 32-bit size", b.Type, n)
	}
	p := make([]byte, 8, n)
	binary.BigEndian.PutUint32(p, uint32(n))
	copy(p[4:8], b.Type)
	return append(p, rest...), nil
}

// widen turns the stco box b into a co64 box with the same entries (the
// values are written by shiftOffsets).
func widen(buf []byte, b Box) ([]byte, error) {
	t, err := chunkTable(bytes.NewReader(buf), b)
	if err != nil {
		return nil, err
	}
	n := 16 + 8*int64(t.Count)
	if n > math.MaxUint32 {
		return nil, malformed("co64 of %d entries is too large", t.Count)
	}
	p := make([]byte, n)
	binary.BigEndian.PutUint32(p, uint32(n))
	copy(p[4:8], "co64")
	copy(p[8:16], buf[b.DataOffset():b.DataOffset()+8]) // version, flags, count
	for i := int64(0); i < int64(t.Count); i++ {
		binary.BigEndian.PutUint64(p[16+8*i:], uint64(binary.BigEndian.Uint32(buf[t.EntriesOffset+4*i:])))
	}
	return p, nil
}

// Size returns the length of the rearranged object.
func (f *Faststart) Size() int64 { return f.size }

// MoovSize returns the length of the rewritten moov.
func (f *Faststart) MoovSize() int64 { return f.moovSize }

// Widened returns how many 32-bit chunk offset tables became 64-bit ones.
func (f *Faststart) Widened() int { return f.grown }

// ReadAt reads the rearranged object: the moov from memory, everything
// else from the source at its own offset.
func (f *Faststart) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("mp4: faststart: negative offset %d", off)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	i := sort.Search(len(f.segs), func(i int) bool { return f.segs[i].off+f.segs[i].n > off })
	var n int
	for ; len(p) > 0 && i < len(f.segs); i++ {
		s := f.segs[i]
		in := off - s.off
		want := min(int64(len(p)), s.n-in)
		var got int
		var err error
		if s.mem != nil {
			got = copy(p[:want], s.mem[in:])
		} else {
			got, err = f.src.ReadAt(p[:want], s.srcOff+in)
			if got == int(want) {
				err = nil
			} else if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("mp4: faststart: source ended at %d, inside box at %d: %w", s.srcOff+in+int64(got), s.srcOff, io.ErrUnexpectedEOF)
			}
		}
		n += got
		if err != nil {
			return n, err
		}
		p, off = p[got:], off+int64(got)
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}
