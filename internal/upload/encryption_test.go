package upload

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

func TestCheckEncryption(t *testing.T) {
	const arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	tests := []struct {
		name, mode, key string
		got             Encryption
		ok              bool
	}{
		{"sse-s3 applied", SSES3, "", Encryption{Algorithm: "AES256"}, true},
		{"sse-s3 ignored by the store", SSES3, "", Encryption{}, false},
		{"sse-s3 asked, kms applied", SSES3, "", Encryption{Algorithm: "aws:kms", KMSKeyID: arn}, false},
		{"kms with the bucket key", SSEKMS, "", Encryption{Algorithm: "aws:kms", KMSKeyID: arn}, true},
		{"kms ignored", SSEKMS, "", Encryption{}, false},
		{"kms key by arn", SSEKMS, arn, Encryption{Algorithm: "aws:kms", KMSKeyID: arn}, true},
		{"kms key by id", SSEKMS, "1234abcd-12ab-34cd-56ef-1234567890ab", Encryption{Algorithm: "aws:kms", KMSKeyID: arn}, true},
		{"kms another key", SSEKMS, "ffffffff-12ab-34cd-56ef-1234567890ab", Encryption{Algorithm: "aws:kms", KMSKeyID: arn}, false},
		{"kms no key reported", SSEKMS, arn, Encryption{Algorithm: "aws:kms"}, false},
		{"kms key by name, as MinIO reports it", SSEKMS, "test-key", Encryption{Algorithm: "aws:kms", KMSKeyID: "arn:aws:kms:test-key"}, true},
		{"kms another key on MinIO", SSEKMS, "other-key", Encryption{Algorithm: "aws:kms", KMSKeyID: "arn:aws:kms:test-key"}, false},
		{"kms dual-layer", SSEKMS, "", Encryption{Algorithm: "aws:kms:dsse", KMSKeyID: arn}, true},
		{"kms by alias", SSEKMS, "alias/recordings", Encryption{Algorithm: "aws:kms", KMSKeyID: arn}, true},
		{"none asked", SSENone, "", Encryption{}, true},
	}
	for _, tt := range tests {
		if why := checkEncryption(tt.mode, tt.key, tt.got); (why == "") != tt.ok {
			t.Errorf("%s: %q", tt.name, why)
		}
	}
}

// stripSSE is a store that ignores encryption as versitygw's posix backend
// does: MinIO behind a proxy that drops the encryption it reports.
func stripSSE(t *testing.T, endpoint string) string {
	t.Helper()
	return lyingStore(t, endpoint, func(r *http.Response) error {
		r.Header.Del("X-Amz-Server-Side-Encryption")
		r.Header.Del("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")
		return nil
	})
}

// A store that does not report the encryption asked for is not believed:
// the upload fails (permanent, with a hint) unless the operator accepts it,
// and then the result says what differs. MinIO itself passes.
func TestEncryptionVerifiedMinIO(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	bucket := srv.Bucket(t, "sse-check")
	dir := t.TempDir()
	m := mediaFile(t, dir, "room_2026-11-24-10-00-00.mp4", 6<<20, 3)
	for _, tt := range []struct {
		name   string
		strip  bool
		warn   bool
		wantOK bool
	}{
		{"minio applies sse-s3", false, false, true},
		{"a store that ignores it fails", true, false, false},
		{"accepted with a warning", true, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn := srv.Conn()
			if tt.strip {
				conn.Endpoint = stripSSE(t, srv.Endpoint)
			}
			client, err := s3conn.New(context.Background(), conn)
			if err != nil {
				t.Fatal(err)
			}
			u := New(client, Options{Bucket: bucket, PartSize: 5 << 20, Checksum: checksum.CRC32C, SSE: SSES3, SSEMismatchWarn: tt.warn})
			v, err := u.Upload(context.Background(), m, Object{Key: "rec/" + tt.name + ".mp4", ContentType: "video/mp4"})
			switch {
			case tt.wantOK && err != nil:
				t.Fatal(err)
			case !tt.wantOK:
				if !errors.Is(err, ErrSSEMismatch) || !IsPermanent(err) || Hint(err) == "" {
					t.Fatalf("got %v", err)
				}
				return
			}
			if enc := v.Encryption(); tt.strip != (enc.Mismatch != "") || (!tt.strip && enc.Algorithm != SSES3) {
				t.Fatalf("encryption %+v", enc)
			}
		})
	}
}
