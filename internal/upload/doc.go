// Package upload sends one local file to S3 with manager.Uploader and proves
// that S3 holds the same bytes.
//
// The file is read once, through an io.ReaderAt, by the uploader's part
// workers; a checksum.Tracker computes the full-object CRC of exactly those
// bytes on the way. The multipart upload is created with ChecksumType
// FULL_OBJECT and completed with that CRC, so S3 itself rejects an object
// whose bytes differ from what was read. HeadObject (checksum mode on) then
// verifies size and checksum again. Only a successful verification produces
// a Verified value, and Verified is the only thing package cleanup accepts.
package upload
