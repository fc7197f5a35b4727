// Command bareupload uploads one file with a bare manager.Uploader: the
// same HTTP/1.1 transport as finalize (package s3conn), a CRC32C checksum,
// and nothing else: no full-object checksum tracking, no verification, no
// manifest. It is the baseline peerbench measures finalize against.
//
//	bareupload -endpoint URL -bucket B -key K -file F [-part-size MiB]
//	           [-concurrency N] [-ca-bundle PEM] [-sse none|aes256]
//
// Credentials and region come from the SDK's default chain. It prints
// nothing but errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/jitsi-recorder/jibri-s3/internal/s3conn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "bareupload: %v\n", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bareupload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "S3 endpoint URL (path-style addressing is used)")
	bucket := fs.String("bucket", "", "bucket")
	key := fs.String("key", "", "object key")
	file := fs.String("file", "", "file to upload")
	partMiB := fs.Int64("part-size", 16, "part size in MiB")
	concurrency := fs.Int("concurrency", 4, "parts in flight")
	caBundle := fs.String("ca-bundle", "", "extra PEM CA certificates to trust")
	sse := fs.String("sse", "none", "server-side encryption: none or aes256")
	sum := fs.String("checksum", "crc32c", "per-part checksum: crc32c, or none (no checksum at all, like mc)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bucket == "" || *key == "" || *file == "" || fs.NArg() != 0 {
		return errors.New("-bucket, -key and -file are required, and nothing else")
	}
	if *concurrency < 1 {
		return errors.New("-concurrency must be at least 1")
	}

	client, err := s3conn.New(ctx, s3conn.Options{
		Endpoint:    *endpoint,
		PathStyle:   true,
		CABundle:    *caBundle,
		Connections: *concurrency * 2, // as finalize sizes its pool
	})
	if err != nil {
		return err
	}
	f, err := os.Open(*file)
	if err != nil {
		return fmt.Errorf("cannot open file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot stat file: %w", err)
	}

	in := &s3.PutObjectInput{
		Bucket:            aws.String(*bucket),
		Key:               aws.String(*key),
		Body:              f,
		ContentLength:     aws.Int64(fi.Size()),
		ContentType:       aws.String("video/mp4"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
	}
	switch *sse {
	case "none", "":
	case "aes256":
		in.ServerSideEncryption = types.ServerSideEncryptionAes256
	default:
		return fmt.Errorf("unknown -sse %q (want none or aes256)", *sse)
	}
	switch *sum {
	case "crc32c":
	case "none":
		in.ChecksumAlgorithm = ""
	default:
		return fmt.Errorf("unknown -checksum %q (want crc32c or none)", *sum)
	}
	up := manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = *partMiB << 20
		u.Concurrency = *concurrency
		u.LeavePartsOnError = false
		if *sum == "none" {
			u.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		}
	})
	if _, err := up.Upload(ctx, in); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	return nil
}
