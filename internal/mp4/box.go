package mp4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// ErrMalformed is wrapped by every error about a structure that is not a
// valid box tree (as opposed to an I/O error of the reader).
var ErrMalformed = errors.New("mp4: malformed file")

// Limits applied to every walk, so that hostile input costs bounded work.
// Nesting is bounded by construction: the reader descends only the fixed
// paths of the index (moov/trak/mdia/minf/stbl, moof/traf), never into an
// arbitrary box.
const (
	// MaxBoxes bounds the boxes one Inspect visits (an hour of fragmented
	// recording is about 10,000).
	MaxBoxes = 1 << 20
	// maxSmallBox bounds the boxes read whole into memory (stsd, trun...).
	maxSmallBox = 16 << 20
)

// Box is one box header: where it is and how large it says it is.
type Box struct {
	Type       string // four characters, as stored (may be unprintable)
	Offset     int64  // of the first header byte, from the start of the file
	HeaderSize int64  // 8, 16 with a 64-bit size, plus 16 for "uuid"
	Size       int64  // whole box including header; size 0 resolved to its parent's end
	// Truncated is set when the box claims more bytes than its parent (or
	// the file) holds: the last box of a file whose writer was killed.
	Truncated bool
	// ToEnd is set when the box was stored with size 0 ("extends to the
	// end of the file"), as a writer does while it does not know the size.
	ToEnd bool
}

// DataOffset is the offset of the box payload.
func (b Box) DataOffset() int64 { return b.Offset + b.HeaderSize }

// End is the offset just past the box as declared.
func (b Box) End() int64 { return b.Offset + b.Size }

func (b Box) String() string {
	s := fmt.Sprintf("%q@%d+%d", b.Type, b.Offset, b.Size)
	if b.Truncated {
		s += " (truncated)"
	}
	return s
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// readHeader reads the header of the box at off, which must end by end.
func readHeader(r io.ReaderAt, off, end int64) (Box, error) {
	var h [32]byte
	if end-off < 8 {
		return Box{}, malformed("%d bytes at offset %d are too few for a box header", end-off, off)
	}
	if err := readFull(r, h[:8], off); err != nil {
		return Box{}, err
	}
	b := Box{Type: string(h[4:8]), Offset: off, HeaderSize: 8}
	switch size := binary.BigEndian.Uint32(h[:4]); size {
	case 0:
		b.Size, b.ToEnd = end-off, true
	case 1:
		if end-off < 16 {
			return Box{}, malformed("box %q at offset %d: 64-bit size cut off", b.Type, off)
		}
		if err := readFull(r, h[8:16], off+8); err != nil {
			return Box{}, err
		}
		large := binary.BigEndian.Uint64(h[8:16])
		if large > math.MaxInt64-uint64(off) {
			return Box{}, malformed("box %q at offset %d: size %d is out of range", b.Type, off, large)
		}
		b.Size, b.HeaderSize = int64(large), 16
	default:
		b.Size = int64(size)
	}
	if b.Type == "uuid" {
		b.HeaderSize += 16
	}
	if b.Size < b.HeaderSize {
		return Box{}, malformed("box %q at offset %d: size %d is smaller than its header (%d)", b.Type, off, b.Size, b.HeaderSize)
	}
	if b.End() > end {
		b.Truncated = true
		if end-off < b.HeaderSize {
			return Box{}, malformed("box %q at offset %d: header cut off", b.Type, off)
		}
	}
	return b, nil
}

// budget counts the boxes a walk visits.
type budget struct{ left int }

func (bg *budget) take(off int64) error {
	if bg.left <= 0 {
		return malformed("more than %d boxes (at offset %d)", MaxBoxes, off)
	}
	bg.left--
	return nil
}

// children lists the boxes in [start, end). A truncated box ends the list.
// Bytes after the last whole box that cannot hold a header are reported as
// an error together with the boxes read so far.
func children(r io.ReaderAt, start, end int64, bg *budget) ([]Box, error) {
	var out []Box
	for off := start; off < end; {
		if err := bg.take(off); err != nil {
			return out, err
		}
		b, err := readHeader(r, off, end)
		if err != nil {
			return out, err
		}
		out = append(out, b)
		if b.Truncated {
			break
		}
		off = b.End()
	}
	return out, nil
}

// TopLevel lists the top-level boxes of a file of the given size. The last
// box is marked Truncated when it claims more than the file holds. An error
// wrapping ErrMalformed comes with the boxes read before the fault.
func TopLevel(r io.ReaderAt, size int64) ([]Box, error) {
	return children(r, 0, size, &budget{left: MaxBoxes})
}

// readFull reads len(p) bytes at off; a short read is ErrMalformed.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return malformed("%d bytes at offset %d: file ends after %d", len(p), off, n)
	}
	return fmt.Errorf("mp4: cannot read %d bytes at offset %d: %w", len(p), off, err)
}

// payload reads a small box's payload (clamped to the bytes available).
func payload(r io.ReaderAt, b Box, limit int64) ([]byte, error) {
	n := b.Size - b.HeaderSize
	if b.Truncated {
		return nil, malformed("box %q at offset %d is truncated", b.Type, b.Offset)
	}
	if n > limit {
		return nil, malformed("box %q at offset %d: %d bytes is more than the %d read for it", b.Type, b.Offset, n, limit)
	}
	p := make([]byte, n)
	if err := readFull(r, p, b.DataOffset()); err != nil {
		return nil, err
	}
	return p, nil
}

// cursor decodes big-endian fields of an in-memory payload; a read past
// the end sets err and returns zeros, so decoders check once at the end.
type cursor struct {
	p   []byte
	i   int
	err error
	box string
}

func (c *cursor) need(n int) bool {
	if c.err != nil {
		return false
	}
	if n < 0 || len(c.p)-c.i < n {
		c.err = malformed("box %q: payload of %d bytes ends before field at %d (+%d)", c.box, len(c.p), c.i, n)
		return false
	}
	return true
}

func (c *cursor) skip(n int) {
	if c.need(n) {
		c.i += n
	}
}

func (c *cursor) u8() uint8 {
	if !c.need(1) {
		return 0
	}
	c.i++
	return c.p[c.i-1]
}

func (c *cursor) u16() uint16 {
	if !c.need(2) {
		return 0
	}
	c.i += 2
	return binary.BigEndian.Uint16(c.p[c.i-2:])
}

func (c *cursor) u32() uint32 {
	if !c.need(4) {
		return 0
	}
	c.i += 4
	return binary.BigEndian.Uint32(c.p[c.i-4:])
}

func (c *cursor) u64() uint64 {
	if !c.need(8) {
		return 0
	}
	c.i += 8
	return binary.BigEndian.Uint64(c.p[c.i-8:])
}

func (c *cursor) bytes(n int) []byte {
	if !c.need(n) {
		return nil
	}
	c.i += n
	return c.p[c.i-n : c.i]
}

func (c *cursor) left() int { return len(c.p) - c.i }

// fullBox reads a FullBox version and flags.
func (c *cursor) fullBox() (version uint8, flags uint32) {
	v := c.u32()
	return uint8(v >> 24), v & 0xffffff
}
