package nulls3

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// readBufferSize is the size of each pooled bufio.Reader: the only memory a
// request body ever occupies.
const readBufferSize = 256 << 10

// maxChunkSize bounds one aws-chunked chunk (S3's largest part is 5 GiB).
const maxChunkSize = 5 << 30

// maxTrailers bounds the trailing headers accepted after the last chunk.
const maxTrailers = 16

// errMalformed reports an aws-chunked body that does not follow the framing.
var errMalformed = errors.New("nulls3: malformed aws-chunked body")

// body is what was learned from a request body that was thrown away.
type body struct {
	size      int64             // payload bytes (decoded for aws-chunked)
	checksums map[string]string // canonical header name -> value
}

// isAWSChunked reports whether the request body uses the aws-chunked
// content encoding (the SDK's trailing-checksum framing over HTTPS).
func isAWSChunked(h http.Header) bool {
	for _, v := range h.Values("Content-Encoding") {
		for _, enc := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(enc), "aws-chunked") {
				return true
			}
		}
	}
	return false
}

// discard reads r.Body to the end without keeping it and returns its size
// and the x-amz-checksum-* values sent as headers or as aws-chunked
// trailers.
func (s *Server) discard(r *http.Request) (body, error) {
	br := s.readers.Get().(*bufio.Reader)
	br.Reset(r.Body)
	defer func() {
		br.Reset(nil)
		s.readers.Put(br)
	}()

	b := body{checksums: checksumHeaders(r.Header)}
	var err error
	if isAWSChunked(r.Header) {
		var trailers map[string]string
		b.size, trailers, err = discardAWSChunked(br)
		for k, v := range trailers {
			b.checksums[k] = v
		}
		if err == nil {
			err = checkDecodedLength(r.Header, b.size)
		}
	} else {
		b.size, err = discardAll(br)
	}
	s.received.Add(b.size)
	return b, err
}

// checksumHeaders returns the x-amz-checksum-<algorithm> values in h.
func checksumHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		if name, ok := checksumName(k); ok && len(v) > 0 {
			out[name] = v[0]
		}
	}
	return out
}

// checksumName reports whether a header or trailer name carries a checksum
// value (not x-amz-checksum-algorithm, -type or -mode) and returns it in
// canonical form.
func checksumName(name string) (string, bool) {
	name = http.CanonicalHeaderKey(strings.TrimSpace(name))
	alg, ok := strings.CutPrefix(name, "X-Amz-Checksum-")
	if !ok {
		return "", false
	}
	switch alg {
	case "Algorithm", "Type", "Mode", "":
		return "", false
	}
	return name, true
}

func checkDecodedLength(h http.Header, got int64) error {
	v := h.Get("X-Amz-Decoded-Content-Length")
	if v == "" {
		return nil
	}
	want, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: x-amz-decoded-content-length %q", errMalformed, v)
	}
	if want != got {
		return fmt.Errorf("%w: %d payload bytes, x-amz-decoded-content-length says %d", errMalformed, got, want)
	}
	return nil
}

// discardAll reads br to EOF through its own buffer.
func discardAll(br *bufio.Reader) (int64, error) {
	var n int64
	for {
		k, err := br.Discard(readBufferSize)
		n += int64(k)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// discardAWSChunked decodes the aws-chunked framing, signed or not:
//
//	<hex size>[;chunk-signature=...]\r\n<data>\r\n ... 0\r\n
//	<trailer>:<value>\r\n ... \r\n
//
// It returns the number of payload bytes and the checksum trailers.
func discardAWSChunked(br *bufio.Reader) (int64, map[string]string, error) {
	var n int64
	for {
		line, err := readLine(br)
		if err != nil {
			return n, nil, fmt.Errorf("%w: chunk header: %w", errMalformed, err)
		}
		hexSize, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(hexSize), 16, 64)
		if err != nil || size < 0 || size > maxChunkSize {
			return n, nil, fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if size == 0 {
			break
		}
		k, err := br.Discard(int(size))
		n += int64(k)
		if err != nil {
			return n, nil, fmt.Errorf("%w: chunk of %d bytes cut after %d: %w", errMalformed, size, k, err)
		}
		if line, err := readLine(br); err != nil || line != "" {
			return n, nil, fmt.Errorf("%w: no CRLF after a chunk", errMalformed)
		}
	}
	trailers := map[string]string{}
	for count := 0; ; count++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) && line == "" {
			break // tolerate a body that omits the final CRLF
		}
		if err != nil {
			return n, nil, fmt.Errorf("%w: trailer: %w", errMalformed, err)
		}
		if line == "" {
			break
		}
		if count == maxTrailers {
			return n, nil, fmt.Errorf("%w: more than %d trailers", errMalformed, maxTrailers)
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return n, nil, fmt.Errorf("%w: trailer %q", errMalformed, line)
		}
		if name, ok := checksumName(k); ok {
			trailers[name] = strings.TrimSpace(v)
		}
	}
	if _, err := discardAll(br); err != nil {
		return n, nil, err
	}
	return n, trailers, nil
}

// readLine returns one CRLF- or LF-terminated line without its terminator.
// A line longer than the reader's buffer is an error.
func readLine(br *bufio.Reader) (string, error) {
	b, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return string(b), nil
}
