package nulls3

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/jitsi-recorder/jibri-s3/internal/checksum"
	"github.com/jitsi-recorder/jibri-s3/internal/recording"
	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
	"github.com/jitsi-recorder/jibri-s3/internal/upload"
)

const bucket = "null-bucket"

func start(t *testing.T, useTLS bool) (*Server, *s3.Client) {
	t.Helper()
	srv := New()
	url, ca, err := srv.Start(useTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if useTLS != (ca != "") || useTLS != strings.HasPrefix(url, "https://") {
		t.Fatalf("Start(%v) = %q, %q", useTLS, url, ca)
	}
	client, err := s3conn.New(context.Background(), s3conn.Options{
		Region:      "us-east-1",
		Endpoint:    url,
		PathStyle:   true,
		CABundle:    ca,
		Credentials: credentials.NewStaticCredentialsProvider("null", "null-secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, client
}

func media(t *testing.T, size int) recording.Media {
	t.Helper()
	p := filepath.Join(t.TempDir(), "room_2026-11-24-09-30-00.mp4")
	data := make([]byte, size)
	_, _ = rand.Read(data)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return recording.Media{Name: fi.Name(), Path: p, Size: fi.Size(), ModTime: fi.ModTime(), Dev: uint64(st.Dev), Ino: st.Ino}
}

func TestUploadVerifies(t *testing.T) {
	tests := []struct {
		name  string
		tls   bool
		size  int
		alg   checksum.Algorithm
		parts int
	}{
		{"multipart over http", false, 12 << 20, checksum.CRC32C, 3},
		{"multipart over https", true, 12 << 20, checksum.CRC32C, 3},
		{"multipart crc64nvme over https", true, 12 << 20, checksum.CRC64NVME, 3},
		{"single part over http", false, 1 << 20, checksum.CRC32C, 1},
		{"single part over https", true, 1 << 20, checksum.CRC32C, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, client := start(t, tt.tls)
			m := media(t, tt.size)
			up := upload.New(client, upload.Options{Bucket: bucket, PartSize: 5 << 20, Concurrency: 4, Checksum: tt.alg})
			v, err := up.Upload(context.Background(), m, upload.Object{Key: "rec/" + m.Name, ContentType: "video/mp4"})
			if err != nil {
				t.Fatal(err)
			}
			if v.Parts() != tt.parts || v.Checksum() == "" || v.ETag() == "" {
				t.Errorf("parts %d checksum %q etag %q", v.Parts(), v.Checksum(), v.ETag())
			}
			if got := srv.Received(); got != int64(tt.size) {
				t.Errorf("server received %d bytes, want %d", got, tt.size)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.uploads) != 0 {
				t.Errorf("%d multipart uploads left open", len(srv.uploads))
			}
		})
	}
}

func TestHeadUnknownObject(t *testing.T) {
	_, client := start(t, false)
	_, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("missing")})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("got %v, want NotFound", err)
	}
}

func TestAbortMultipart(t *testing.T) {
	_, client := start(t, true)
	ctx := context.Background()
	out, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("k"), UploadId: out.UploadId})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("k"), UploadId: out.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	if err == nil {
		t.Fatal("part accepted after abort")
	}
}

func TestDiscardAWSChunked(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		size     int64
		trailers map[string]string
		wantErr  bool
	}{
		{
			name:     "unsigned with trailer",
			body:     "5\r\nhello\r\n0\r\nx-amz-checksum-crc32c:AAAAAA==\r\n\r\n",
			size:     5,
			trailers: map[string]string{"X-Amz-Checksum-Crc32c": "AAAAAA=="},
		},
		{
			name: "signed chunks, several",
			body: "3;chunk-signature=ab\r\nabc\r\n2;chunk-signature=cd\r\nde\r\n0;chunk-signature=ef\r\n" +
				"x-amz-checksum-crc64nvme:BBBBBBBBBBB=\r\nx-amz-trailer-signature:ff\r\n\r\n",
			size:     5,
			trailers: map[string]string{"X-Amz-Checksum-Crc64nvme": "BBBBBBBBBBB="},
		},
		{name: "no trailer, no final crlf", body: "1\r\nz\r\n0\r\n", size: 1, trailers: map[string]string{}},
		{name: "short chunk", body: "a\r\nabc", wantErr: true},
		{name: "bad size", body: "zz\r\nabc\r\n0\r\n\r\n", wantErr: true},
		{name: "missing crlf after data", body: "3\r\nabcX\r\n0\r\n\r\n", wantErr: true},
		{name: "empty body", body: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, trailers, err := discardAWSChunked(bufio.NewReaderSize(strings.NewReader(tt.body), 64))
			if tt.wantErr {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("got %v, want errMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.size || len(trailers) != len(tt.trailers) {
				t.Fatalf("got %d bytes, trailers %v", n, trailers)
			}
			for k, v := range tt.trailers {
				if trailers[k] != v {
					t.Errorf("trailer %s = %q, want %q", k, trailers[k], v)
				}
			}
		})
	}
}
