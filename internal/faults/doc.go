// Package faults holds the fault-injection suite (in its tests): real MinIO
// behind an HTTP fault proxy, the real finalize and recwatch binaries, and
// every fault the recording pipeline must survive without losing a
// recording or deleting a file S3 does not hold. `make faults` runs it and
// prints the table.
package faults
