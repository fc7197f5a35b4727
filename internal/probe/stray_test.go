package probe

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/fakes3"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

// TestProbeLeavesNothingOnDisk: gofakes3's on-disk backend (the demo's
// store) keeps an object whose Content-MD5 it refused; the probe finds and
// removes it with the rest.
func TestProbeLeavesNothingOnDisk(t *testing.T) {
	srv, err := fakes3.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.CreateBucket("rec"); err != nil {
		t.Fatal(err)
	}
	client, err := s3conn.New(context.Background(), srv.Conn())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), client, Options{Bucket: "rec", Prefix: "recordings", Checksum: checksum.CRC32C})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("rec")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		t.Errorf("left %s (md5 check: %+v)", aws.ToString(o.Key), r.ContentMD5Checked)
	}
}
