package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// recording is a test recording directory laid out like Jibri's.
type recording struct {
	dir     string // <tmp>/recordings/<session>
	session string
	name    string // media file name
	media   string // media file path
	size    int64
}

// mediaName is named the way Jibri names its recordings.
const mediaName = "room_2026-11-24-09-30-00.mp4"

// blockSize is the unit the media file is written in.
const blockSize = 4 << 20

// stampEvery spaces the counters stamped into each block.
const stampEvery = 64 << 10

// makeRecording writes metadata.json and a media file of size bytes: an
// MP4 'ftyp' box then pseudo-random bytes. One random block is reused with
// a block counter stamped every 64 KiB, so no two blocks are identical and
// no write is sparse. The file is fsynced so that its write-back does not
// land in the measured runs.
func makeRecording(parent string, size int64) (recording, error) {
	r, err := newRecording(parent)
	if err != nil {
		return recording{}, err
	}
	r.size = size
	if err := writeMedia(r.media, size); err != nil {
		return recording{}, err
	}
	return r, nil
}

// makeMediaRecording writes metadata.json and links the real MP4 at src
// (a cached fixture, never modified: finalize runs with --keep) as the
// media file, or copies it where a link is not possible.
func makeMediaRecording(parent, src string) (recording, error) {
	r, err := newRecording(parent)
	if err != nil {
		return recording{}, err
	}
	if err := os.Link(src, r.media); err != nil {
		if err := copyFile(src, r.media); err != nil {
			return recording{}, err
		}
	}
	fi, err := os.Stat(r.media)
	if err != nil {
		return recording{}, fmt.Errorf("cannot stat the media file: %w", err)
	}
	r.size = fi.Size()
	return r, nil
}

// newRecording creates a session directory holding metadata.json.
func newRecording(parent string) (recording, error) {
	session, err := sessionID()
	if err != nil {
		return recording{}, err
	}
	r := recording{dir: filepath.Join(parent, session), session: session, name: mediaName}
	r.media = filepath.Join(r.dir, mediaName)
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return recording{}, fmt.Errorf("cannot create recording directory: %w", err)
	}
	meta := []byte(`{"meeting_url":"https://meet.example.com/bench"}`)
	if err := os.WriteFile(filepath.Join(r.dir, "metadata.json"), meta, 0o644); err != nil {
		return recording{}, fmt.Errorf("cannot write metadata.json: %w", err)
	}
	return r, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("cannot copy the media file: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("cannot copy the media file: %w", err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("cannot copy the media file: %w", err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("cannot sync the media file: %w", err)
	}
	return out.Close()
}

// ftyp is a 32-byte MP4 file type box (isom, iso2, avc1, mp41).
var ftyp = []byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41")

func writeMedia(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot create media file: %w", err)
	}
	defer f.Close()
	block := make([]byte, blockSize)
	if _, err := rand.Read(block); err != nil {
		return fmt.Errorf("cannot generate random data: %w", err)
	}
	copy(block, ftyp)
	for n, written := uint64(0), int64(0); written < size; n++ {
		if n == 1 {
			// Only the first block starts with the box.
			if _, err := rand.Read(block[:len(ftyp)]); err != nil {
				return fmt.Errorf("cannot generate random data: %w", err)
			}
		}
		for off := stampEvery - 8; off < len(block); off += stampEvery {
			binary.LittleEndian.PutUint64(block[off:], n)
		}
		chunk := block[:min(int64(len(block)), size-written)]
		if _, err := f.Write(chunk); err != nil {
			return fmt.Errorf("cannot write media file: %w", err)
		}
		written += int64(len(chunk))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot sync media file: %w", err)
	}
	return f.Close()
}

// sessionID returns 16 lowercase letters, like Jibri's session directories.
func sessionID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cannot generate session id: %w", err)
	}
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b), nil
}

// warmUp reads the file once so every measured run starts with it cached.
func warmUp(ctx context.Context, path string) error {
	cmd := exec.CommandContext(ctx, "cat", path) // stdout is /dev/null
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	return nil
}
