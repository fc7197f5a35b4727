package mp4

import (
	"bytes"
	"fmt"
	"io"
)

// movie is what the moov box says.
type movie struct {
	timescale  uint32
	duration   uint64
	fragmented bool   // mvex present
	fragDur    uint64 // mehd, in movie timescale
	tracks     []*track
	trex       map[uint32]uint32 // track id -> default sample duration
}

type track struct {
	Track
	tkhdDur    uint64 // in movie timescale
	mdhdDur    uint64 // in media timescale
	fragEnd    uint64 // end of the last fragment, media timescale
	fragSum    uint64 // sum of fragment sample durations
	hasTfdt    bool
	stsdLoaded bool
}

func parseMoov(r io.ReaderAt, moov Box, bg *budget) (*movie, error) {
	kids, err := children(r, moov.DataOffset(), moov.End(), bg)
	if err != nil {
		return nil, fmt.Errorf("moov: %w", err)
	}
	m := &movie{trex: map[uint32]uint32{}}
	for _, b := range kids {
		switch b.Type {
		case "mvhd":
			if err := m.parseMvhd(r, b); err != nil {
				return nil, err
			}
		case "trak":
			t, err := parseTrak(r, b, bg)
			if err != nil {
				return nil, err
			}
			m.tracks = append(m.tracks, t)
		case "mvex":
			m.fragmented = true
			if err := m.parseMvex(r, b, bg); err != nil {
				return nil, err
			}
		}
	}
	if m.timescale == 0 {
		return nil, malformed("moov: no mvhd or a zero timescale")
	}
	return m, nil
}

func (m *movie) parseMvhd(r io.ReaderAt, b Box) error {
	p, err := payload(r, b, 4096)
	if err != nil {
		return err
	}
	c := cursor{p: p, box: b.Type}
	m.timescale, m.duration = c.timing()
	return c.err
}

// timing reads the start of an mvhd or mdhd payload: the full-box header,
// creation and modification times, the timescale and the duration (64-bit
// fields in version 1, 32-bit in version 0).
func (c *cursor) timing() (timescale uint32, duration uint64) {
	if v, _ := c.fullBox(); v == 1 {
		c.skip(16)
		return c.u32(), c.u64()
	}
	c.skip(8)
	return c.u32(), unknown32(c.u32())
}

// unknown32 maps the 32-bit "duration unknown" value to 0.
func unknown32(v uint32) uint64 {
	if v == 0xffffffff {
		return 0
	}
	return uint64(v)
}

func (m *movie) parseMvex(r io.ReaderAt, mvex Box, bg *budget) error {
	kids, err := children(r, mvex.DataOffset(), mvex.End(), bg)
	if err != nil {
		return fmt.Errorf("mvex: %w", err)
	}
	for _, b := range kids {
		switch b.Type {
		case "mehd":
			p, err := payload(r, b, 64)
			if err != nil {
				return err
			}
			c := cursor{p: p, box: b.Type}
			if v, _ := c.fullBox(); v == 1 {
				m.fragDur = c.u64()
			} else {
				m.fragDur = unknown32(c.u32())
			}
			if c.err != nil {
				return c.err
			}
		case "trex":
			p, err := payload(r, b, 64)
			if err != nil {
				return err
			}
			c := cursor{p: p, box: b.Type}
			c.fullBox()
			id := c.u32()
			c.skip(4) // default sample description index
			dur := c.u32()
			if c.err != nil {
				return c.err
			}
			m.trex[id] = dur
		}
	}
	return nil
}

func parseTrak(r io.ReaderAt, trak Box, bg *budget) (*track, error) {
	t := &track{}
	err := descend(r, trak, bg, func(b Box) error {
		switch b.Type {
		case "tkhd":
			return t.parseTkhd(r, b)
		case "mdhd":
			return t.parseMdhd(r, b)
		case "hdlr":
			p, err := payload(r, b, 4096)
			if err != nil {
				return err
			}
			c := cursor{p: p, box: b.Type}
			c.fullBox()
			c.skip(4)
			t.Handler = string(c.bytes(4))
			return c.err
		case "stsd":
			if t.stsdLoaded {
				return malformed("trak: two stsd boxes")
			}
			t.stsdLoaded = true
			return t.parseStsd(r, b, bg)
		case "stsz", "stz2":
			var h [12]byte
			if b.Size-b.HeaderSize < 12 {
				return malformed("box %q at offset %d is too short", b.Type, b.Offset)
			}
			if err := readFull(r, h[:], b.DataOffset()); err != nil {
				return err
			}
			c := cursor{p: h[:], box: b.Type}
			c.skip(8)
			t.Samples += int64(c.u32())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("trak: %w", err)
	}
	return t, nil
}

// descend visits the boxes on the index path under b (trak/mdia/minf/stbl)
// and calls fn for every other box it meets there.
func descend(r io.ReaderAt, b Box, bg *budget, fn func(Box) error) error {
	kids, err := children(r, b.DataOffset(), b.End(), bg)
	if err != nil {
		return err
	}
	for _, k := range kids {
		switch k.Type {
		case "mdia", "minf", "stbl":
			if k.Type == b.Type || !onPath(b.Type, k.Type) {
				continue
			}
			if err := descend(r, k, bg, fn); err != nil {
				return err
			}
		default:
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// onPath says whether child is the next container under parent on the
// index path trak/mdia/minf/stbl (which is what bounds the nesting).
func onPath(parent, child string) bool {
	return parent == "trak" && child == "mdia" ||
		parent == "mdia" && child == "minf" ||
		parent == "minf" && child == "stbl"
}

func (t *track) parseTkhd(r io.ReaderAt, b Box) error {
	p, err := payload(r, b, 4096)
	if err != nil {
		return err
	}
	c := cursor{p: p, box: b.Type}
	if v, _ := c.fullBox(); v == 1 {
		c.skip(16)
		t.ID = c.u32()
		c.skip(4)
		t.tkhdDur = c.u64()
	} else {
		c.skip(8)
		t.ID = c.u32()
		c.skip(4)
		t.tkhdDur = unknown32(c.u32())
	}
	return c.err
}

func (t *track) parseMdhd(r io.ReaderAt, b Box) error {
	p, err := payload(r, b, 4096)
	if err != nil {
		return err
	}
	c := cursor{p: p, box: b.Type}
	t.Timescale, t.mdhdDur = c.timing()
	return c.err
}

// parseStsd reads the first sample entry: the codec and its parameters.
func (t *track) parseStsd(r io.ReaderAt, b Box, bg *budget) error {
	p, err := payload(r, b, 1<<20)
	if err != nil {
		return err
	}
	c := cursor{p: p, box: b.Type}
	c.fullBox()
	n := c.u32()
	if c.err != nil {
		return c.err
	}
	if n == 0 {
		return nil
	}
	pr := bytes.NewReader(p)
	entries, err := children(pr, int64(c.i), int64(len(p)), bg)
	if err != nil {
		return fmt.Errorf("stsd: %w", err)
	}
	if len(entries) == 0 {
		return malformed("stsd: %d entries announced, none present", n)
	}
	e := entries[0]
	if e.Truncated {
		return malformed("stsd: sample entry %q is cut off", e.Type)
	}
	t.Codec = e.Type
	ep := p[e.DataOffset():e.End()]
	ec := cursor{p: ep, box: e.Type}
	ec.skip(8) // reserved, data reference index
	switch t.Handler {
	case "vide":
		ec.skip(16)
		t.Width, t.Height = int(ec.u16()), int(ec.u16())
		ec.skip(50)
	case "soun":
		version := ec.u16()
		ec.skip(6)
		t.Channels = int(ec.u16())
		ec.skip(6)
		t.SampleRate = int(ec.u32() >> 16)
		switch version {
		case 1:
			ec.skip(16)
		case 2:
			ec.skip(36)
		}
	default:
		return nil
	}
	if ec.err != nil {
		return ec.err
	}
	// The codec configuration boxes follow the fixed fields.
	er := bytes.NewReader(ep)
	cfg, err := children(er, int64(ec.i), int64(len(ep)), bg)
	if err != nil {
		return fmt.Errorf("sample entry %q: %w", e.Type, err)
	}
	for _, k := range cfg {
		if k.Truncated {
			continue
		}
		kp := ep[k.DataOffset():k.End()]
		switch k.Type {
		case "avcC":
			if len(kp) >= 4 {
				t.CodecString = fmt.Sprintf("%s.%02x%02x%02x", t.Codec, kp[1], kp[2], kp[3])
				t.Profile, t.Level = avcProfile(kp[1], kp[2]), int(kp[3])
			}
		case "esds":
			if oti, aot, asc, ok := parseEsds(kp); ok {
				// The AudioSpecificConfig is what decoders use; the sample
				// entry's channel count is often a fixed 2.
				if ch := ascChannels(asc); ch > 0 {
					t.Channels = ch
				}
				if aot > 0 {
					t.CodecString = fmt.Sprintf("%s.%x.%d", t.Codec, oti, aot)
				} else {
					t.CodecString = fmt.Sprintf("%s.%x", t.Codec, oti)
				}
				if oti == 0x40 || oti == 0x67 {
					t.Profile = aacProfile(aot)
				}
			}
		}
	}
	return nil
}

func avcProfile(p, compat byte) string {
	switch p {
	case 66:
		if compat&0x40 != 0 {
			return "Constrained Baseline"
		}
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		return "High 10"
	case 122:
		return "High 4:2:2"
	case 244:
		return "High 4:4:4 Predictive"
	}
	return fmt.Sprintf("profile %d", p)
}

func aacProfile(aot int) string {
	switch aot {
	case 1:
		return "Main"
	case 2:
		return "LC"
	case 3:
		return "SSR"
	case 4:
		return "LTP"
	case 5:
		return "HE-AAC"
	case 29:
		return "HE-AACv2"
	}
	return ""
}

// parseEsds finds the object type indication and, for MPEG-4 audio, the
// audio object type in an esds payload (a FullBox of MPEG-4 descriptors).
func parseEsds(p []byte) (oti byte, aot int, asc []byte, ok bool) {
	if len(p) < 4 {
		return 0, 0, nil, false
	}
	d := p[4:]
	tag, body, _, good := descriptor(d)
	if !good || tag != 0x03 {
		return 0, 0, nil, false
	}
	c := cursor{p: body}
	c.skip(2) // ES_ID
	flags := c.u8()
	if flags&0x80 != 0 {
		c.skip(2)
	}
	if flags&0x40 != 0 {
		c.skip(int(c.u8()))
	}
	if flags&0x20 != 0 {
		c.skip(2)
	}
	if c.err != nil {
		return 0, 0, nil, false
	}
	tag, dc, _, good := descriptor(body[c.i:])
	if !good || tag != 0x04 || len(dc) < 13 {
		return 0, 0, nil, false
	}
	oti = dc[0]
	if tag, dsi, _, good := descriptor(dc[13:]); good && tag == 0x05 && len(dsi) >= 1 {
		aot = int(dsi[0] >> 3)
		if aot == 31 && len(dsi) >= 2 {
			aot = 32 + int(dsi[0]&7)<<3 + int(dsi[1]>>5)
		}
		asc = dsi
	}
	return oti, aot, asc, true
}

// ascChannels reads channelConfiguration from an AudioSpecificConfig
// (ISO/IEC 14496-3 1.6.2.1): 5 bits object type (6 more when 31), 4 bits
// frequency index (24 more bits of frequency when 15), 4 bits channels.
// It returns 0 when the field is absent or 0 (defined elsewhere).
func ascChannels(asc []byte) int {
	var bits uint64
	n := 0
	for _, b := range asc {
		if n > 56 {
			break
		}
		bits = bits<<8 | uint64(b)
		n += 8
	}
	pos := 0
	take := func(k int) int {
		if pos+k > n {
			pos = n + 1
			return 0
		}
		v := int(bits>>(n-pos-k)) & (1<<k - 1)
		pos += k
		return v
	}
	if take(5) == 31 {
		take(6)
	}
	if take(4) == 15 {
		take(24)
	}
	ch := take(4)
	if pos > n {
		return 0
	}
	switch {
	case ch >= 1 && ch <= 6:
		return ch
	case ch == 7:
		return 8
	}
	return 0
}

// descriptor splits one MPEG-4 descriptor (tag, 1-4 length bytes of 7 bits).
func descriptor(p []byte) (tag byte, body, rest []byte, ok bool) {
	if len(p) < 2 {
		return 0, nil, nil, false
	}
	tag = p[0]
	n, i := 0, 1
	for ; i < len(p) && i <= 4; i++ {
		n = n<<7 | int(p[i]&0x7f)
		if p[i]&0x80 == 0 {
			i++
			break
		}
	}
	if n > len(p)-i {
		return 0, nil, nil, false
	}
	return tag, p[i : i+n], p[i+n:], true
}
