package finalize

import "errors"

// Sentinel errors, one per exit code.
var (
	// ErrUsage: the directory is not something finalize works on (missing,
	// not a recording, nothing to upload). Nothing was touched.
	ErrUsage = errors.New("not a recording to finalize")
	// ErrLocked: another finalizer holds the recording. Nothing was touched.
	ErrLocked = errors.New("recording is locked")
	// ErrUpload: uploading failed or ran out of time; files kept.
	ErrUpload = errors.New("upload failed, local files kept")
	// ErrVerify: S3 does not hold the bytes read; files kept.
	ErrVerify = errors.New("verification failed, local files kept")
	// ErrCleanup: everything is in S3 and committed, but local files could
	// not be deleted.
	ErrCleanup = errors.New("uploaded, but local cleanup failed")
)
