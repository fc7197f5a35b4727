// Package compat measures what finalize and recwatch do against each
// S3-compatible store of package s3servers, and renders the compatibility
// matrix (docs/compat.md, written by `make compat`).
//
// A row has two halves: what the store's API does (package probe's report:
// full-object CRC32C and CRC64NVME, a wrong checksum rejected, part
// checksums in ListParts, versioning, SSE, the verify mode auto picks), and
// a round trip with the real binaries: finalize killed with SIGKILL
// mid-upload, recwatch resuming and committing, and the object's bytes
// compared with the source. Where the defaults do not commit, the row says
// what finalize did instead and which flags make it commit; it never counts
// a refusal as a pass, and a file deleted without being in the store fails
// the test on any store.
package compat
