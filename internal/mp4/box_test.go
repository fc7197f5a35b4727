package mp4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

func bytesReaderAt(b []byte) io.ReaderAt { return bytes.NewReader(b) }

// box builds a box with a 32-bit size.
func box(typ string, payload ...[]byte) []byte {
	p := bytes.Join(payload, nil)
	b := make([]byte, 8, 8+len(p))
	binary.BigEndian.PutUint32(b, uint32(8+len(p)))
	copy(b[4:], typ)
	return append(b, p...)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func TestTopLevel(t *testing.T) {
	large := make([]byte, 16)
	binary.BigEndian.PutUint32(large, 1)
	copy(large[4:], "mdat")
	binary.BigEndian.PutUint64(large[8:], 16+4)
	large = append(large, 1, 2, 3, 4)

	toEnd := append(u32(0), "mdat"...)
	toEnd = append(toEnd, make([]byte, 100)...)

	uuid := box("uuid", make([]byte, 16), []byte("x"))

	cases := []struct {
		name  string
		file  []byte
		want  string // types, sizes and flags
		error string
	}{
		{name: "empty", file: nil, want: ""},
		{name: "32-bit sizes", file: append(box("ftyp", []byte("isom")), box("free")...), want: "ftyp/12 free/8"},
		{name: "64-bit size", file: append(box("ftyp"), large...), want: "ftyp/8 mdat/20h16"},
		{name: "size 0 runs to the end", file: append(box("ftyp"), toEnd...), want: "ftyp/8 mdat/108toend"},
		{name: "past the end", file: append(box("ftyp"), box("mdat", make([]byte, 50))[:30]...), want: "ftyp/8 mdat/58truncated"},
		{name: "uuid header", file: uuid, want: "uuid/25h24"},
		{name: "size below header", file: append(u32(4), "free"...), error: "smaller than its header"},
		{name: "trailing bytes", file: append(box("ftyp"), 0, 0, 0), want: "ftyp/8", error: "too few for a box header"},
		{name: "64-bit size cut off", file: append(u32(1), "mdat"...), error: "64-bit size cut off"},
		{name: "64-bit size out of range", file: append(append(u32(1), "mdat"...), 0xff, 0, 0, 0, 0, 0, 0, 0), error: "out of range"},
		{name: "uuid header cut off", file: append(u32(100), "uuid"...), error: "header cut off"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			boxes, err := TopLevel(bytesReaderAt(c.file), int64(len(c.file)))
			var got []string
			for _, b := range boxes {
				s := b.Type + "/" + itoa(b.Size)
				if b.HeaderSize != 8 {
					s += "h" + itoa(b.HeaderSize)
				}
				if b.ToEnd {
					s += "toend"
				}
				if b.Truncated {
					s += "truncated"
				}
				got = append(got, s)
			}
			if g := strings.Join(got, " "); g != c.want {
				t.Errorf("boxes %q, want %q", g, c.want)
			}
			switch {
			case c.error == "" && err != nil:
				t.Errorf("error %v", err)
			case c.error != "" && (err == nil || !strings.Contains(err.Error(), c.error) || !errors.Is(err, ErrMalformed)):
				t.Errorf("error %v, want ErrMalformed saying %q", err, c.error)
			}
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
