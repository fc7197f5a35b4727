package upload

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ErrSSEMismatch reports a store that did not apply the server-side
// encryption asked for (it ignored x-amz-server-side-encryption, or used
// another KMS key): the object exists, but it is not what was asked, so the
// recording is not committed unless the operator accepts it
// (Options.SSEMismatchWarn).
var ErrSSEMismatch = errors.New("upload: the store did not apply the requested encryption")

// Encryption is the server-side encryption a store reports for an object.
type Encryption struct {
	Algorithm string // AES256, aws:kms, aws:kms:dsse, or "" (none reported)
	KMSKeyID  string // for aws:kms, the key the store says it used
	Mismatch  string // what differs from the request, when accepted with a warning
}

// encryptionOf reads what HeadObject says about encryption.
func encryptionOf(h *s3.HeadObjectOutput) Encryption {
	return Encryption{Algorithm: string(h.ServerSideEncryption), KMSKeyID: aws.ToString(h.SSEKMSKeyId)}
}

// checkEncryption compares what was asked (mode and key id) with what the
// store reports; "" means it matches.
func checkEncryption(mode, kmsKeyID string, got Encryption) string {
	switch mode {
	case SSES3:
		if got.Algorithm != SSES3 {
			return fmt.Sprintf("asked for %s, the store reports %q", SSES3, got.Algorithm)
		}
	case SSEKMS:
		if got.Algorithm != SSEKMS && got.Algorithm != "aws:kms:dsse" {
			return fmt.Sprintf("asked for %s, the store reports %q", SSEKMS, got.Algorithm)
		}
		if kmsKeyID != "" && !sameKMSKey(kmsKeyID, got.KMSKeyID) {
			return fmt.Sprintf("asked for KMS key %q, the store reports %q", kmsKeyID, got.KMSKeyID)
		}
	}
	return ""
}

// sameKMSKey reports whether the key the store reports (usually the key's
// ARN) is the one configured as an ARN, a key id or an alias. An alias
// cannot be resolved without KMS: it matches when the store reports the
// alias itself, else it is taken on trust of the algorithm (reported as
// such by the caller's log, never a silent pass of "no encryption").
func sameKMSKey(want, got string) bool {
	switch {
	case want == got:
		return true
	case got == "":
		return false
	case strings.HasPrefix(want, "arn:"):
		return false
	case strings.HasPrefix(want, "alias/"):
		return true
	}
	// AWS: arn:aws:kms:region:account:key/<id>; MinIO: arn:aws:kms:<name>.
	return strings.HasSuffix(got, ":key/"+want) || strings.HasSuffix(got, "/"+want) || strings.HasSuffix(got, ":"+want)
}

// EncryptionMismatch says how the encryption head reports differs from
// what mode and kmsKeyID ask for ("" when it matches): the store probe and
// the doctor ask the same question as the upload's verification.
func EncryptionMismatch(mode, kmsKeyID string, head *s3.HeadObjectOutput) string {
	return checkEncryption(mode, kmsKeyID, encryptionOf(head))
}
