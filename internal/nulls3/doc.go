// Package nulls3 is an S3 "null endpoint": an HTTP/1.1 server that speaks
// just enough path-style S3 for manager.Uploader and our HeadObject
// verification, reads every request body to the end and throws it away.
//
// It measures the ceiling of the client alone: no disk, no encryption at
// rest, no hashing on the server side. Only per-object metadata is kept
// (size, ETag, the full-object checksum the client claimed), so memory stays
// bounded however much is uploaded. Because the server never sees the bytes
// again, HeadObject reports the checksum the client sent: a verification
// against nulls3 proves the protocol round trip, not the data.
package nulls3
