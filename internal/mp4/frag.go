package mp4

import (
	"fmt"
	"io"
)

// tfhd flags (ISO/IEC 14496-12, 8.8.7).
const (
	tfhdBaseDataOffset   = 0x01
	tfhdSampleDescIndex  = 0x02
	tfhdDefaultDuration  = 0x08
	trunDataOffset       = 0x01
	trunFirstSampleFlags = 0x04
	trunDuration         = 0x100
	trunSize             = 0x200
	trunFlags            = 0x400
	trunCTO              = 0x800
)

// parseMoof adds the samples and durations of one movie fragment to the
// movie's tracks. It reads only the moof (its traf, tfhd, tfdt and trun).
func (m *movie) parseMoof(r io.ReaderAt, moof Box, bg *budget) error {
	kids, err := children(r, moof.DataOffset(), moof.End(), bg)
	if err != nil {
		return fmt.Errorf("moof at %d: %w", moof.Offset, err)
	}
	for _, traf := range kids {
		if traf.Type != "traf" {
			continue
		}
		if err := m.parseTraf(r, traf, bg); err != nil {
			return fmt.Errorf("moof at %d: %w", moof.Offset, err)
		}
	}
	return nil
}

func (m *movie) parseTraf(r io.ReaderAt, traf Box, bg *budget) error {
	kids, err := children(r, traf.DataOffset(), traf.End(), bg)
	if err != nil {
		return fmt.Errorf("traf: %w", err)
	}
	var t *track
	var defDur uint32
	var base uint64
	hasBase := false
	var sum uint64
	var samples int64
	for _, b := range kids {
		switch b.Type {
		case "tfhd":
			p, err := payload(r, b, 64)
			if err != nil {
				return err
			}
			c := cursor{p: p, box: b.Type}
			_, flags := c.fullBox()
			id := c.u32()
			if flags&tfhdBaseDataOffset != 0 {
				c.skip(8)
			}
			if flags&tfhdSampleDescIndex != 0 {
				c.skip(4)
			}
			defDur = m.trex[id]
			if flags&tfhdDefaultDuration != 0 {
				defDur = c.u32()
			}
			if c.err != nil {
				return c.err
			}
			for _, tr := range m.tracks {
				if tr.ID == id {
					t = tr
				}
			}
			if t == nil {
				return malformed("tfhd: track %d is not in the moov", id)
			}
		case "tfdt":
			p, err := payload(r, b, 64)
			if err != nil {
				return err
			}
			c := cursor{p: p, box: b.Type}
			if v, _ := c.fullBox(); v == 1 {
				base = c.u64()
			} else {
				base = uint64(c.u32())
			}
			if c.err != nil {
				return c.err
			}
			hasBase = true
		case "trun":
			if t == nil {
				return malformed("trun before tfhd")
			}
			d, n, err := sumTrun(r, b, defDur)
			if err != nil {
				return err
			}
			sum += d
			samples += n
		}
	}
	if t == nil {
		return nil
	}
	t.Samples += samples
	t.fragSum += sum
	if hasBase {
		t.hasTfdt = true
		if end := base + sum; end > t.fragEnd {
			t.fragEnd = end
		}
	}
	return nil
}

// sumTrun sums the sample durations of a track run.
func sumTrun(r io.ReaderAt, b Box, defDur uint32) (sum uint64, samples int64, err error) {
	p, err := payload(r, b, maxSmallBox)
	if err != nil {
		return 0, 0, err
	}
	c := cursor{p: p, box: b.Type}
	_, flags := c.fullBox()
	n := c.u32()
	if flags&trunDataOffset != 0 {
		c.skip(4)
	}
	if flags&trunFirstSampleFlags != 0 {
		c.skip(4)
	}
	if c.err != nil {
		return 0, 0, c.err
	}
	per := 0
	for _, f := range []uint32{trunDuration, trunSize, trunFlags, trunCTO} {
		if flags&f != 0 {
			per += 4
		}
	}
	if per > 0 && uint64(n) > uint64(c.left()/per) {
		return 0, 0, malformed("trun at %d: %d samples do not fit in %d bytes", b.Offset, n, c.left())
	}
	if flags&trunDuration == 0 {
		return uint64(n) * uint64(defDur), int64(n), nil
	}
	for i := uint32(0); i < n; i++ {
		sum += uint64(c.u32())
		c.skip(per - 4)
	}
	return sum, int64(n), c.err
}
