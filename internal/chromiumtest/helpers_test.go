package chromiumtest_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
)

// store uploads src to key, rearranged when faststart, and returns the
// object's size.
func store(t *testing.T, srv *miniotest.Server, bucket, key, src string, faststart bool) int64 {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var body io.ReaderAt = f
	size := fi.Size()
	if faststart {
		fs, err := mp4.NewFaststart(f, size)
		if err != nil {
			t.Fatal(err)
		}
		body, size = fs, fs.Size()
	}
	_, err = srv.Client(t).PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: io.NewSectionReader(body, 0, size), ContentLength: aws.Int64(size), ContentType: aws.String("video/mp4")})
	if err != nil {
		t.Fatal(err)
	}
	return size
}

// objectInfo downloads the object and inspects it.
func objectInfo(t *testing.T, srv *miniotest.Server, bucket, key string) *mp4.Info {
	t.Helper()
	out, err := srv.Client(t).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	info, err := mp4.Inspect(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return info
}
