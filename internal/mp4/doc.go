// Package mp4 reads the structure of an ISO base media file (MP4) without an
// MP4 library and without reading media payloads: it walks box headers with
// io.ReaderAt, descends only into the index boxes (moov, moof and the few
// boxes under them that describe tracks), and never reads an mdat. A 4 GiB
// recording is inspected with a few hundred small reads.
//
// It answers what a recording uploader must know before it calls a file a
// recording: is the index (moov) there, is the file fragmented (moof), does
// the index come before the media (faststart), how long is it, and which
// tracks does it carry. A file that ffmpeg could not finish (SIGKILL, OOM,
// a crash) has an mdat and no moov: Inspect reports it as not playable and
// says why.
//
// Every function accepts hostile input: sizes are checked against their
// parent and the file, nesting depth and box counts are bounded, and a
// malformed structure is an error (wrapping ErrMalformed), never a panic.
//
// TopLevel and ChunkOffsets expose what a faststart rewriter needs: the
// top-level box list with offsets and sizes, and the position of every
// stco/co64 entry table so that chunk offsets can be shifted.
package mp4
