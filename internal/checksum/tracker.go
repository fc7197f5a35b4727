package checksum

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Tracker is an io.ReaderAt and io.ReadSeeker over the first size bytes of
// an underlying io.ReaderAt. It computes the full-object checksum of exactly
// what the uploader read, part by part, without reading anything itself.
//
// It is safe for concurrent use by one reader per part, which is how
// manager.Uploader reads (one io.SectionReader per part).
type Tracker struct {
	alg      Algorithm
	src      io.ReaderAt
	size     int64
	partSize int64
	parts    []partState

	mu  sync.Mutex // guards pos (Read/Seek)
	pos int64

	onRead func(n int) // optional progress callback

	gate   func(part int) error // optional: may refuse to start a part (numbered from 1)
	opened []bool               // parts that passed the gate (guarded by their partState.mu)
}

// Gate registers f, called with the part's number (from 1) when the part
// is read for the first time: an error from f fails that read before a
// byte of the part is read, so a part is either refused whole or read (and
// sent) whole. A part that passed the gate is never refused afterwards
// (re-reads of a retried part). Call it before the tracker is used.
func (t *Tracker) Gate(f func(part int) error) {
	t.gate = f
	t.opened = make([]bool, len(t.parts))
}

// OnRead registers f to be called with the byte count of every read (for
// progress display). Call it before the tracker is used.
func (t *Tracker) OnRead(f func(n int)) { t.onRead = f }

type partState struct {
	mu     sync.Mutex
	next   int64 // absolute offset of the next expected byte
	crc    uint64
	broken bool // a read arrived out of sequence
}

// NewTracker tracks reads of src[0:size) split in parts of partSize bytes.
func NewTracker(alg Algorithm, src io.ReaderAt, size, partSize int64) *Tracker {
	if partSize <= 0 {
		partSize = size
	}
	n := int64(1)
	if size > 0 {
		n = (size + partSize - 1) / partSize
	}
	t := &Tracker{alg: alg, src: src, size: size, partSize: partSize, parts: make([]partState, n)}
	for i := range t.parts {
		t.parts[i].next = int64(i) * partSize
	}
	return t
}

// Size returns the number of bytes the tracker exposes.
func (t *Tracker) Size() int64 { return t.size }

// ReadAt reads from the underlying source and feeds the bytes read into the
// running CRC of the parts they belong to.
func (t *Tracker) ReadAt(p []byte, off int64) (int, error) {
	if off >= t.size {
		return 0, io.EOF
	}
	if rest := t.size - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	if t.gate != nil {
		if err := t.pass(off); err != nil {
			return 0, err
		}
	}
	n, err := t.src.ReadAt(p, off)
	t.observe(p[:n], off)
	if t.onRead != nil && n > 0 {
		t.onRead(n)
	}
	if err == nil && off+int64(n) == t.size {
		err = io.EOF
	}
	return n, err
}

// pass applies the gate to the part that starts at off, once.
func (t *Tracker) pass(off int64) error {
	idx := off / t.partSize
	if off != idx*t.partSize {
		return nil // inside a part: it passed when its first byte was read
	}
	ps := &t.parts[idx]
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if t.opened[idx] {
		return nil
	}
	if err := t.gate(int(idx) + 1); err != nil {
		return err
	}
	t.opened[idx] = true
	return nil
}

func (t *Tracker) observe(p []byte, off int64) {
	for len(p) > 0 {
		idx := off / t.partSize
		start := idx * t.partSize
		end := min(start+t.partSize, t.size)
		chunk := p[:min(int64(len(p)), end-off)]
		ps := &t.parts[idx]
		ps.mu.Lock()
		if off == start {
			// A part read from its first byte is a fresh attempt.
			ps.crc, ps.next, ps.broken = 0, start, false
		}
		if off == ps.next && !ps.broken {
			ps.crc = t.alg.Update(ps.crc, chunk)
			ps.next += int64(len(chunk))
		} else {
			ps.broken = true
		}
		ps.mu.Unlock()
		off += int64(len(chunk))
		p = p[len(chunk):]
	}
}

// Read implements io.Reader so that the tracker satisfies io.ReadSeeker.
func (t *Tracker) Read(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, err := t.ReadAt(p, t.pos)
	t.pos += int64(n)
	return n, err
}

// Seek implements io.Seeker; the uploader uses it to learn the size.
func (t *Tracker) Seek(offset int64, whence int) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += t.pos
	case io.SeekEnd:
		offset += t.size
	default:
		return 0, errors.New("checksum: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("checksum: negative position")
	}
	t.pos = offset
	return offset, nil
}

// ErrIncomplete reports that the uploader did not read every part once,
// in order, from start to end, so the tracked checksum cannot be trusted.
var ErrIncomplete = errors.New("checksum: file was not read completely")

// Sum returns the CRC of the whole tracked range, combined from the parts.
func (t *Tracker) Sum() (uint64, error) {
	var total uint64
	for i := range t.parts {
		ps := &t.parts[i]
		ps.mu.Lock()
		start := int64(i) * t.partSize
		end := min(start+t.partSize, t.size)
		crc, next, broken := ps.crc, ps.next, ps.broken
		ps.mu.Unlock()
		if broken || next != end {
			return 0, fmt.Errorf("%w: part %d read up to byte %d of %d..%d", ErrIncomplete, i+1, next, start, end)
		}
		if i == 0 {
			total = crc
			continue
		}
		total = t.alg.Combine(total, crc, end-start)
	}
	return total, nil
}

// Encoded returns Sum encoded as S3 transmits it.
func (t *Tracker) Encoded() (string, error) {
	crc, err := t.Sum()
	if err != nil {
		return "", err
	}
	return t.alg.Encode(crc), nil
}
