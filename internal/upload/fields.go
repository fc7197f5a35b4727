package upload

import (
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
)

// The SDK carries each checksum algorithm in its own field. These two are
// the one place that picks the field of an algorithm: pick reads it, set
// writes it.

// pick returns the value of alg's field.
func pick(alg checksum.Algorithm, crc32c, crc64nvme *string) string {
	if alg == checksum.CRC64NVME {
		return aws.ToString(crc64nvme)
	}
	return aws.ToString(crc32c)
}

// set stores v in alg's field.
func set(alg checksum.Algorithm, crc32c, crc64nvme **string, v string) {
	if alg == checksum.CRC64NVME {
		*crc64nvme = aws.String(v)
		return
	}
	*crc32c = aws.String(v)
}

// crcWriter computes alg's CRC of what is written to it.
type crcWriter struct {
	alg checksum.Algorithm
	crc uint64
}

var _ io.Writer = (*crcWriter)(nil)

func (w *crcWriter) Write(p []byte) (int, error) {
	w.crc = w.alg.Update(w.crc, p)
	return len(p), nil
}

// ParseSSE reads a server-side encryption setting (aes256, sse-s3, s3;
// aws:kms, kms, sse-kms; none or empty) as one of SSENone, SSES3, SSEKMS.
func ParseSSE(s string) (string, error) {
	switch strings.ToLower(s) {
	case "aes256", "sse-s3", "s3":
		return SSES3, nil
	case "aws:kms", "kms", "sse-kms":
		return SSEKMS, nil
	case "none", "":
		return SSENone, nil
	}
	return "", fmt.Errorf("sse %q: want aes256, aws:kms or none", s)
}

// SSEHeaders returns the request values of an encryption mode: the
// algorithm and, for SSE-KMS with a key given, the key id.
func SSEHeaders(mode, kmsKeyID string) (types.ServerSideEncryption, *string) {
	switch mode {
	case SSES3:
		return types.ServerSideEncryptionAes256, nil
	case SSEKMS:
		if kmsKeyID != "" {
			return types.ServerSideEncryptionAwsKms, aws.String(kmsKeyID)
		}
		return types.ServerSideEncryptionAwsKms, nil
	}
	return "", nil
}

// ChecksumField returns alg's checksum value among the two fields.
func ChecksumField(alg checksum.Algorithm, crc32c, crc64nvme *string) string {
	return pick(alg, crc32c, crc64nvme)
}

// SetChecksumField stores v in alg's field.
func SetChecksumField(alg checksum.Algorithm, crc32c, crc64nvme **string, v string) {
	set(alg, crc32c, crc64nvme, v)
}
