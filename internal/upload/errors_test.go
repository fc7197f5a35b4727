package upload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

// s3Error is an error as the SDK returns it: an operation error around an
// HTTP response error around the API error S3 sent.
func s3Error(code string, status int) error {
	var api error
	if code != "" {
		api = &smithy.GenericAPIError{Code: code, Message: "message from the server", Fault: smithy.FaultClient}
	} else {
		api = errors.New("http response without a body")
	}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: api},
		RequestID:     "req-1",
	}}
}

func TestErrorClassification(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		permanent bool
		hint      string // a word the hint must hold; "" for no hint
	}{
		{"MetadataTooLarge", s3Error("MetadataTooLarge", 400), true, "metadata"},
		{"EntityTooLarge", s3Error("EntityTooLarge", 400), true, "part size"},
		{"EntityTooSmall", s3Error("EntityTooSmall", 400), true, "part size"},
		{"InvalidRequest", s3Error("InvalidRequest", 400), true, "request"},
		{"InvalidArgument", s3Error("InvalidArgument", 400), true, "argument"},
		{"KeyTooLongError", s3Error("KeyTooLongError", 400), true, "key template"},
		{"XMinioInvalidObjectName", s3Error("XMinioInvalidObjectName", 400), true, "key template"},
		{"InvalidStorageClass", s3Error("InvalidStorageClass", 400), true, "storage class"},
		{"RequestHeaderSectionTooLarge", s3Error("RequestHeaderSectionTooLarge", 400), true, "header"},
		{"a missing KMS key", s3Error("KMS.NotFoundException", 400), true, "KMS key"},
		{"a disabled KMS key", s3Error("KMS.DisabledException", 400), true, "disabled"},
		{"a KMS key pending deletion", s3Error("KMS.KMSInvalidStateException", 400), true, "KMS key"},
		{"MinIO: a missing KMS key", s3Error("XMinioKMSKeyNotFound", 400), true, "KMS key"},
		{"InvalidEncryptionAlgorithmError", s3Error("InvalidEncryptionAlgorithmError", 400), true, "encryption"},
		{"AccessDenied", s3Error("AccessDenied", 403), true, "access denied"},
		{"NoSuchBucket", s3Error("NoSuchBucket", 404), true, "bucket"},
		{"a 403 without a body (HEAD)", s3Error("", 403), true, "access denied"},
		{"NotImplemented", s3Error("NotImplemented", 501), true, "server"},
		{"InvalidTag", s3Error("InvalidTag", 400), true, "tag"},

		{"SlowDown", s3Error("SlowDown", 503), false, ""},
		{"InternalError", s3Error("InternalError", 500), false, ""},
		{"RequestTimeout", s3Error("RequestTimeout", 400), false, ""},
		{"BadDigest", s3Error("BadDigest", 400), false, ""},
		{"XAmzContentChecksumMismatch", s3Error("XAmzContentChecksumMismatch", 400), false, ""},
		{"ExpiredToken (credentials refresh)", s3Error("ExpiredToken", 400), false, ""},
		{"NoSuchUpload (resumed upload gone)", s3Error("NoSuchUpload", 404), false, ""},
		{"a stalled connection", fmt.Errorf("upload: part 3: %w", &s3conn.StallError{Idle: 60e9, Remote: "s3:443"}), false, ""},
		{"a canceled context", fmt.Errorf("upload: %w", context.Canceled), true, ""},
		{"nil", nil, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wrapped := c.err
			if wrapped != nil {
				wrapped = fmt.Errorf("finalize: cannot upload rec/a.mp4: %w", c.err)
			}
			if got := IsPermanent(wrapped); got != c.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, c.permanent)
			}
			h := Hint(wrapped)
			switch {
			case c.hint == "" && h != "":
				t.Errorf("Hint = %q, want none", h)
			case c.hint != "" && !strings.Contains(h, c.hint):
				t.Errorf("Hint = %q, want one about %q", h, c.hint)
			}
			if h != "" && (strings.ToLower(h[:1]) != h[:1] || strings.HasSuffix(h, ".")) {
				t.Errorf("Hint %q: want lowercase without a trailing period", h)
			}
		})
	}
}

// Every permanent code has a hint an operator can act on.
func TestEveryPermanentCodeHasAHint(t *testing.T) {
	for code, hint := range permanentCodes {
		if len(hint) < 15 {
			t.Errorf("%s: hint %q is too short to act on", code, hint)
		}
	}
}
