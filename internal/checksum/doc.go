// Package checksum computes the full-object CRC checksums that S3 verifies
// for multipart uploads (CRC32C and CRC64NVME) while the uploader reads the
// file, so that every byte is read from disk once.
//
// A Tracker wraps the file as an io.ReaderAt. The uploader reads each part
// sequentially through it (possibly more than once when a part is retried);
// the tracker keeps one running CRC per part, restarting it whenever a part is
// read again from its first byte, and combines the per-part CRCs into the
// whole-object value with the GF(2) "combine" operation used by zlib.
package checksum
