package upload

import (
	"context"
	"errors"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// ErrMismatch reports that S3 does not hold what was read locally (size,
// checksum or checksum type differ, or S3 returned no checksum at all).
var ErrMismatch = errors.New("upload: verification failed")

// ErrChanged reports a local file that changed while it was uploaded (still
// being written, truncated or replaced). It is kept and retried later.
var ErrChanged = errors.New("upload: local file changed during upload")

// permanentCodes are S3 (and MinIO, and KMS-through-S3) error codes that no
// retry will fix: configuration or permission problems.
var permanentCodes = map[string]string{
	"AccessDenied":                         "access denied: check the task role / credentials policy for this bucket and prefix",
	"AllAccessDisabled":                    "access to the bucket is disabled",
	"InvalidAccessKeyId":                   "the access key id does not exist: check credentials",
	"SignatureDoesNotMatch":                "the secret key is wrong: check credentials",
	"InvalidToken":                         "the session token is invalid: check credentials",
	"NoSuchBucket":                         "the bucket does not exist: check the bucket name and region",
	"InvalidBucketName":                    "the bucket name is invalid",
	"PermanentRedirect":                    "the bucket is in another region: set the region",
	"AuthorizationHeaderMalformed":         "the region is wrong for this bucket",
	"KMS.NotFoundException":                "the KMS key does not exist: check the key id",
	"KMS.DisabledException":                "the KMS key is disabled",
	"KMS.KMSInvalidStateException":         "the KMS key is not usable (pending deletion?)",
	"KMS.AccessDeniedException":            "no permission to use the KMS key",
	"KMSKeyNotFoundException":              "the KMS key does not exist: check the key id",
	"kms:KeyNotFound":                      "the KMS key does not exist: check the key id",
	"XMinioKMSKeyNotFound":                 "the KMS key does not exist: check the key id",
	"XMinioKMSDefaultKeyAlreadyConfigured": "the KMS configuration of the server rejects this key",
	"NotImplemented":                       "the server does not implement this request (server-side encryption not configured?)",
	"InvalidArgument":                      "the server rejected an argument of the request: check the storage class, server-side encryption, checksum and object lock settings",
	"InvalidEncryptionAlgorithmError":      "the server-side encryption setting is invalid",
	"AccountProblem":                       "the AWS account has a problem",
	"MethodNotAllowed":                     "the request is not allowed on this resource",
	// What this program sends, not the link: the same request fails the
	// same way on every retry.
	"MetadataTooLarge":             "the object's user metadata is over S3's 2 KB limit (a long or non-ASCII room or tenant): this uploader should have bounded it, report a bug",
	"RequestHeaderSectionTooLarge": "the request headers are too large (user metadata or tags): report a bug",
	"EntityTooLarge":               "an object or part is over S3's limit (5 GiB per part or single PUT): lower the part size",
	"EntityTooSmall":               "a part is below S3's 5 MiB minimum: raise the part size",
	"InvalidRequest":               "the server rejected the request as invalid (checksum type, encryption or object lock settings the bucket does not accept): check the bucket configuration",
	"KeyTooLongError":              "the object key is over 1024 bytes: shorten the key template or prefix",
	"XMinioInvalidObjectName":      "the server rejects this object key: check the key template and prefix",
	"InvalidStorageClass":          "the storage class is not valid for this bucket or server: check the storage class setting",
	"InvalidTag":                   "the object tags are invalid: check the tag settings",
	"InvalidBucketState":           "the bucket's state forbids this request (versioning or object lock configuration): check the bucket",
}

// IsPermanent reports whether err cannot be fixed by retrying: a permanent
// S3 error code, a 403 without a code (HEAD responses have no body), a
// canceled context, or a local file problem.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if _, ok := permanentCodes[api.ErrorCode()]; ok {
			return true
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusForbidden, http.StatusNotImplemented, http.StatusMethodNotAllowed:
			return true
		}
	}
	if errors.Is(err, ErrSSEMismatch) {
		return true
	}
	var le *localError
	return errors.As(err, &le)
}

// Hint returns an operator-facing explanation for a permanent S3 error, or
// "".
func Hint(err error) string {
	if errors.Is(err, ErrSSEMismatch) {
		return "the store ignores or changes server-side encryption: use a store that encrypts (MinIO with a KMS, AWS), set --sse none for a store that cannot, or accept it with --sse-mismatch warn"
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if h, ok := permanentCodes[api.ErrorCode()]; ok {
			return h
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden {
		return permanentCodes["AccessDenied"]
	}
	return ""
}

// localError wraps a failure to read the local file; retrying in the same
// run does not help.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// IsCredentialError reports errors caused by wrong credentials (as opposed
// to missing permissions).
func IsCredentialError(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
			return true
		}
	}
	return false
}
