package mp4

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"
)

// Info is what Inspect learned about a file.
type Info struct {
	// Container is "mp4", "mov" (a QuickTime brand) or "" when the file
	// does not start with an ftyp box.
	Container  string
	MajorBrand string
	Boxes      []Box // top level, in file order
	HasMoov    bool
	// Fragmented is set when the moov announces movie fragments (mvex),
	// as ffmpeg writes with -movflags +frag_keyframe+empty_moov.
	Fragmented bool
	Fragments  int // moof boxes
	// Faststart is set when the moov comes before the first mdat, so a
	// player can start from the first bytes of a download.
	Faststart bool
	// Truncated is set when the last top-level box claims more bytes than
	// the file holds.
	Truncated bool
	Duration  time.Duration
	Tracks    []Track
	// Playable says whether a player can open the file; Reason says why
	// not. Notes are remarks that do not prevent playing.
	Playable bool
	Reason   string
	Notes    []string
}

// Track is one trak of the moov.
type Track struct {
	ID          uint32
	Handler     string // "vide", "soun", ...
	Codec       string // the sample entry type: "avc1", "mp4a", ...
	CodecString string // RFC 6381 form when known: "avc1.4d401f", "mp4a.40.2"
	Profile     string // "Main", "LC"...
	Level       int    // H.264 level_idc (31 is level 3.1)
	Width       int
	Height      int
	SampleRate  int
	Channels    int
	Timescale   uint32
	Duration    time.Duration
	Samples     int64 // in the moov's sample table plus all fragments
}

// Inspect reads the structure of the file r of the given size: top-level
// box headers, the moov, and the moof boxes of a fragmented file; never an
// mdat payload. It returns an error only when r fails to read; every fault
// of the file itself (no moov, a cut-off mdat, a malformed box) is
// reported as Playable false with a Reason.
func Inspect(r io.ReaderAt, size int64) (*Info, error) {
	info := &Info{}
	err := inspect(r, size, info)
	switch {
	case err == nil:
	case errors.Is(err, ErrMalformed):
		info.Playable = false
		if info.Reason == "" {
			info.Reason = err.Error()
		}
	default:
		return nil, err
	}
	return info, nil
}

func inspect(r io.ReaderAt, size int64, info *Info) error {
	bg := &budget{left: MaxBoxes}
	boxes, err := children(r, 0, size, bg)
	if err != nil && !errors.Is(err, ErrMalformed) {
		return err
	}
	info.Boxes = boxes
	if len(boxes) > 0 {
		info.Truncated = boxes[len(boxes)-1].Truncated
	}
	if len(boxes) == 0 || boxes[0].Type != "ftyp" {
		first := "nothing"
		if len(boxes) > 0 {
			first = fmt.Sprintf("box %q", boxes[0].Type)
		} else if size > 0 {
			first = "no box"
		}
		info.Reason = fmt.Sprintf("not an MP4 file: it starts with %s, not ftyp", first)
		return nil
	}
	if err := info.parseFtyp(r, boxes[0]); err != nil {
		return err
	}
	if err != nil {
		// The top level is broken after the ftyp: say so, but keep
		// inspecting what was read (a moov may still be whole).
		info.Notes = append(info.Notes, err.Error())
	}
	var moov *Box
	firstMdat := -1
	for i, b := range boxes {
		switch b.Type {
		case "moov":
			if moov != nil {
				return malformed("two moov boxes (at %d and %d)", moov.Offset, b.Offset)
			}
			moov = &boxes[i]
		case "mdat":
			if firstMdat < 0 {
				firstMdat = i
			}
		case "moof":
			info.Fragments++
		}
	}
	if moov == nil {
		if firstMdat >= 0 {
			info.Reason = "no moov box: the index was never written (the recorder stopped before it finished the file)"
		} else {
			info.Reason = "no moov box"
		}
		return nil
	}
	info.HasMoov = true
	info.Faststart = firstMdat < 0 || moov.Offset < boxes[firstMdat].Offset
	if moov.Truncated {
		info.Reason = fmt.Sprintf("the moov box is cut off: it claims %d bytes at offset %d, the file ends at %d", moov.Size, moov.Offset, size)
		return nil
	}
	m, err := parseMoov(r, *moov, bg)
	if err != nil {
		return err
	}
	info.Fragmented = m.fragmented
	if m.fragmented && info.Truncated {
		last := boxes[len(boxes)-1]
		info.Notes = append(info.Notes, fmt.Sprintf("the last fragment is cut off (%q at %d claims %d bytes, the file ends at %d); players stop before it", last.Type, last.Offset, last.Size, size))
	}
	if m.fragmented {
		for _, b := range boxes {
			if b.Type != "moof" {
				continue
			}
			if b.Truncated {
				break
			}
			if err := m.parseMoof(r, b, bg); err != nil {
				return err
			}
		}
	}
	info.fill(m)
	return info.judge(r, size, m, boxes)
}

func (info *Info) parseFtyp(r io.ReaderAt, b Box) error {
	p, err := payload(r, b, 4096)
	if err != nil {
		return err
	}
	c := cursor{p: p, box: b.Type}
	info.MajorBrand = string(c.bytes(4))
	if c.err != nil {
		return c.err
	}
	info.Container = "mp4"
	if info.MajorBrand == "qt  " {
		info.Container = "mov"
	}
	return nil
}

// fill converts the movie's tracks and durations.
func (info *Info) fill(m *movie) {
	var longest time.Duration
	for _, t := range m.tracks {
		tr := t.Track
		// The presentation duration (tkhd, after edit lists) first, as
		// players and ffprobe show it; then the media's own; then what the
		// fragments add up to.
		switch {
		case t.tkhdDur > 0:
			tr.Duration = duration(t.tkhdDur, m.timescale)
		case t.mdhdDur > 0:
			tr.Duration = duration(t.mdhdDur, t.Timescale)
		case t.hasTfdt:
			tr.Duration = duration(t.fragEnd, t.Timescale)
		case t.fragSum > 0:
			tr.Duration = duration(t.fragSum, t.Timescale)
		}
		if tr.SampleRate == 0 && tr.Handler == "soun" {
			tr.SampleRate = int(t.Timescale)
		}
		longest = max(longest, tr.Duration)
		info.Tracks = append(info.Tracks, tr)
	}
	switch {
	case m.duration > 0:
		info.Duration = duration(m.duration, m.timescale)
	case m.fragDur > 0 && !info.Truncated:
		info.Duration = max(duration(m.fragDur, m.timescale), longest)
	default:
		info.Duration = longest
	}
}

// judge decides whether the file plays.
func (info *Info) judge(r io.ReaderAt, size int64, m *movie, boxes []Box) error {
	if len(m.tracks) == 0 {
		info.Reason = "the moov has no tracks"
		return nil
	}
	var samples int64
	for _, t := range info.Tracks {
		samples += t.Samples
	}
	if samples == 0 {
		if m.fragmented {
			info.Reason = "no media: the moov announces fragments and none was written"
		} else {
			info.Reason = "no media: the tracks have no samples"
		}
		return nil
	}
	if !m.fragmented {
		hasMdat := false
		for _, b := range boxes {
			if b.Type != "mdat" {
				continue
			}
			hasMdat = true
			if b.Truncated {
				info.Reason = fmt.Sprintf("the mdat box is cut off: it claims %d bytes at offset %d, the file ends at %d", b.Size, b.Offset, size)
				return nil
			}
		}
		if !hasMdat {
			info.Reason = "no mdat box"
			return nil
		}
		// The last chunk of each track must start inside the file.
		moov := boxes[0]
		for _, b := range boxes {
			if b.Type == "moov" {
				moov = b
			}
		}
		tables, err := ChunkOffsets(r, moov)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if t.Count == 0 {
				continue
			}
			last, err := t.Entry(r, t.Count-1)
			if err != nil {
				return err
			}
			if last >= uint64(size) {
				info.Reason = fmt.Sprintf("track %d: its last chunk starts at %d, past the end of the file (%d bytes)", t.TrackID, last, size)
				return nil
			}
		}
	}
	info.Playable = true
	return nil
}

// duration converts units of a timescale, saturating instead of overflowing.
func duration(units uint64, timescale uint32) time.Duration {
	if timescale == 0 {
		return 0
	}
	ts := uint64(timescale)
	sec, rem := units/ts, units%ts
	if sec > uint64(math.MaxInt64/int64(time.Second))-1 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(sec)*time.Second + time.Duration(rem*uint64(time.Second)/ts)
}

// Inspectable reports whether name has the extension of an ISO media file
// a recorder writes and Inspect reads: .mp4, .m4a, .m4v or .mov (any case).
func Inspectable(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".mp4", ".m4a", ".m4v", ".mov":
		return true
	}
	return false
}
