// Package s3servers starts the S3-compatible stores of the compatibility
// matrix (docs/compat.md) for tests: MinIO (through package miniotest),
// versitygw and SeaweedFS as real processes, and gofakes3 in process. Each
// runs on 127.0.0.1 in a fresh temporary directory with one bucket, and is
// stopped when the test ends.
//
// A store whose binary is missing skips the test, unless its variable says it
// is required (JIBRI_S3_REQUIRE_VERSITYGW=1, JIBRI_S3_REQUIRE_SEAWEEDFS=1,
// JIBRI_S3_REQUIRE_MINIO=1, exported by the Makefile where CI builds that
// server): then the test fails. Binaries are found through $VERSITYGW_BIN,
// $SEAWEEDFS_BIN and $MINIO_BIN, then $PATH (versitygw, weed, minio).
package s3servers
