package upload

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
)

// localFile is one open file and the bytes its object is made of: the
// file itself, or (Options.Faststart) the file rearranged. Either is read
// once, through a checksum.Tracker; size, parts and checksums are those of
// r, the file's identity (sameFile) is that of file.
type localFile struct {
	file   *os.File
	r      io.ReaderAt
	size   int64  // bytes of r
	layout string // "" for the file's own bytes, else mp4.FaststartLayout
	kept   string // why an MP4 file keeps its own layout
}

// rearrange turns f into the faststart layout of an MP4 whose moov
// follows its media. Files it cannot prove it can rearrange (fragmented,
// without a moov, already faststart, malformed) keep their own bytes: an
// unplayable recording is stored exactly as it was written.
func (u *Uploader) rearrange(f *localFile, m recording.Media) error {
	if !u.opts.Faststart || !strings.EqualFold(filepath.Ext(m.Name), ".mp4") {
		return nil
	}
	fs, err := mp4.NewFaststart(f.file, m.Size)
	switch {
	case err == nil:
		f.r, f.size, f.layout = fs, fs.Size(), mp4.FaststartLayout
	case errors.Is(err, mp4.ErrNotRearranged):
		f.kept = err.Error()
	default:
		return &localError{fmt.Errorf("upload: cannot read the structure of %s: %w", m.Name, err)}
	}
	return nil
}

// Size returns the object's size: the file's, or that of its rearranged
// layout (larger when a chunk offset table had to be widened).
func (v Verified) Size() int64 { return v.size }

// Rearranged returns the layout the object was stored in when it is not
// the file's own (mp4.FaststartLayout), or "".
func (v Verified) Rearranged() string { return v.layout }

// KeptLayout returns why an MP4 file was stored as it is although
// Options.Faststart was on ("" otherwise).
func (v Verified) KeptLayout() string { return v.kept }
