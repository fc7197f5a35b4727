package mp4

import (
	"encoding/binary"
	"fmt"
	"io"
)

// ChunkTable locates one chunk offset table (stco or co64) of a moov: what
// a faststart rewriter must shift when it moves the moov before the mdat.
type ChunkTable struct {
	Box           Box    // the stco or co64 box
	TrackID       uint32 // from the track's tkhd
	EntrySize     int    // 4 for stco, 8 for co64
	EntriesOffset int64  // file offset of the first entry
	Count         uint32 // entries
}

// ChunkOffsets finds every stco and co64 table under moov (as returned by
// TopLevel), checking that each table fits in its box.
func ChunkOffsets(r io.ReaderAt, moov Box) ([]ChunkTable, error) {
	if moov.Type != "moov" {
		return nil, fmt.Errorf("mp4: chunk offsets: box %q is not a moov", moov.Type)
	}
	if moov.Truncated {
		return nil, malformed("moov at offset %d is truncated", moov.Offset)
	}
	bg := &budget{left: MaxBoxes}
	traks, err := children(r, moov.DataOffset(), moov.End(), bg)
	if err != nil {
		return nil, fmt.Errorf("moov: %w", err)
	}
	var out []ChunkTable
	for _, trak := range traks {
		if trak.Type != "trak" {
			continue
		}
		var id uint32
		var tables []ChunkTable
		err := descend(r, trak, bg, func(b Box) error {
			switch b.Type {
			case "tkhd":
				t := &track{}
				if err := t.parseTkhd(r, b); err != nil {
					return err
				}
				id = t.ID
			case "stco", "co64":
				t, err := chunkTable(r, b)
				if err != nil {
					return err
				}
				tables = append(tables, t)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("trak at %d: %w", trak.Offset, err)
		}
		for i := range tables {
			tables[i].TrackID = id
		}
		out = append(out, tables...)
	}
	return out, nil
}

func chunkTable(r io.ReaderAt, b Box) (ChunkTable, error) {
	t := ChunkTable{Box: b, EntrySize: 4, EntriesOffset: b.DataOffset() + 8}
	if b.Type == "co64" {
		t.EntrySize = 8
	}
	if b.Truncated || b.Size-b.HeaderSize < 8 {
		return t, malformed("box %q at offset %d is truncated or too short", b.Type, b.Offset)
	}
	var h [8]byte
	if err := readFull(r, h[:], b.DataOffset()); err != nil {
		return t, err
	}
	t.Count = binary.BigEndian.Uint32(h[4:])
	if room := (b.End() - t.EntriesOffset) / int64(t.EntrySize); int64(t.Count) > room {
		return t, malformed("box %q at offset %d: %d entries do not fit (room for %d)", b.Type, b.Offset, t.Count, room)
	}
	return t, nil
}

// Entry reads entry i of the table.
func (t ChunkTable) Entry(r io.ReaderAt, i uint32) (uint64, error) {
	if i >= t.Count {
		return 0, fmt.Errorf("mp4: chunk offset %d of %d: out of range", i, t.Count)
	}
	var b [8]byte
	p := b[:t.EntrySize]
	if err := readFull(r, p, t.EntriesOffset+int64(i)*int64(t.EntrySize)); err != nil {
		return 0, err
	}
	if t.EntrySize == 8 {
		return binary.BigEndian.Uint64(p), nil
	}
	return uint64(binary.BigEndian.Uint32(p)), nil
}
