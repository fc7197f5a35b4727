package chromiumtest_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/miniotest"
	"github.com/jitsi-recorder/jibri-s3/internal/mp4"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

// store uploads src to key the way finalize does (upload.Uploader, with
// or without faststart) and returns the object's size.
func store(t *testing.T, srv *miniotest.Server, bucket, key, src string, faststart bool) int64 {
	t.Helper()
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	m := recording.Media{Name: filepath.Base(src), Path: src, Size: fi.Size(), ModTime: fi.ModTime(), Dev: uint64(st.Dev), Ino: st.Ino}
	u := upload.New(srv.Client(t), upload.Options{Bucket: bucket, Checksum: checksum.CRC32C, Faststart: faststart})
	v, err := u.Upload(context.Background(), m, upload.Object{Key: key, ContentType: upload.ContentType(m.Name)})
	if err != nil {
		t.Fatal(err)
	}
	if (v.Rearranged() != "") != faststart {
		t.Fatalf("faststart %v, stored in layout %q (%s)", faststart, v.Rearranged(), v.KeptLayout())
	}
	return v.Size()
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
