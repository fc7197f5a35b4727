package nulls3

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// maxCompleteBody bounds a CompleteMultipartUpload request (10,000 parts
// with their checksums fit in well under 2 MiB).
const maxCompleteBody = 4 << 20

func (s *Server) putObject(w http.ResponseWriter, r *http.Request, bucket, key string) {
	b, err := s.discard(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "IncompleteBody", err.Error())
		return
	}
	o := object{size: b.size, etag: s.etag(""), contentType: r.Header.Get("Content-Type"), checksums: b.checksums, modified: time.Now()}
	if !s.remember(bucket, key, o) {
		s.fail(w, r, http.StatusServiceUnavailable, "SlowDown", "too many objects remembered")
		return
	}
	writeChecksums(w, b.checksums)
	w.Header().Set("ETag", o.etag)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) createMultipart(w http.ResponseWriter, r *http.Request, bucket, key string) {
	id := fmt.Sprintf("null-%016x", s.seq.Add(1))
	s.mu.Lock()
	full := len(s.uploads) >= maxUploads
	if !full {
		s.uploads[id] = &multipart{bucket: bucket, key: key, contentType: r.Header.Get("Content-Type"), parts: map[int]part{}}
	}
	s.mu.Unlock()
	if full {
		s.fail(w, r, http.StatusServiceUnavailable, "SlowDown", "too many multipart uploads in progress")
		return
	}
	for _, h := range []string{"X-Amz-Checksum-Algorithm", "X-Amz-Checksum-Type"} {
		if v := r.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	writeXML(w, struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		NS       string   `xml:"xmlns,attr"`
		Bucket   string
		Key      string
		UploadID string `xml:"UploadId"`
	}{NS: s3NS, Bucket: bucket, Key: key, UploadID: id})
}

func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request, id, number string) {
	n, err := strconv.Atoi(number)
	if err != nil || n < 1 || n > 10_000 {
		s.fail(w, r, http.StatusBadRequest, "InvalidArgument", "part number must be 1..10000")
		return
	}
	s.mu.Lock()
	_, ok := s.uploads[id]
	s.mu.Unlock()
	if !ok {
		s.fail(w, r, http.StatusNotFound, "NoSuchUpload", "the upload does not exist")
		return
	}
	b, err := s.discard(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "IncompleteBody", err.Error())
		return
	}
	p := part{size: b.size, etag: s.etag("")}
	s.mu.Lock()
	u, ok := s.uploads[id]
	if ok {
		u.parts[n] = p
	}
	s.mu.Unlock()
	if !ok {
		s.fail(w, r, http.StatusNotFound, "NoSuchUpload", "the upload was aborted")
		return
	}
	writeChecksums(w, b.checksums)
	w.Header().Set("ETag", p.etag)
	w.WriteHeader(http.StatusOK)
}

// completeRequest is the part of the CompleteMultipartUpload body we use.
type completeRequest struct {
	Parts []struct {
		PartNumber int
	} `xml:"Part"`
}

func (s *Server) completeMultipart(w http.ResponseWriter, r *http.Request, bucket, key, id string) {
	var req completeRequest
	if err := xml.NewDecoder(io.LimitReader(r.Body, maxCompleteBody)).Decode(&req); err != nil || len(req.Parts) == 0 {
		s.fail(w, r, http.StatusBadRequest, "MalformedXML", "the part list is missing or malformed")
		return
	}
	s.mu.Lock()
	u, ok := s.uploads[id]
	var size int64
	var missing error
	if ok {
		for _, p := range req.Parts {
			got, found := u.parts[p.PartNumber]
			if !found {
				missing = fmt.Errorf("part %d was not uploaded", p.PartNumber)
				break
			}
			size += got.size
		}
		if missing == nil {
			delete(s.uploads, id)
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		s.fail(w, r, http.StatusNotFound, "NoSuchUpload", "the upload does not exist")
		return
	case missing != nil:
		s.fail(w, r, http.StatusBadRequest, "InvalidPart", missing.Error())
		return
	case u.bucket != bucket || u.key != key:
		s.fail(w, r, http.StatusBadRequest, "InvalidRequest", "the upload belongs to another key")
		return
	}

	// The full-object checksum is the client's claim: nothing was kept to
	// compute it from.
	sums := checksumHeaders(r.Header)
	o := object{size: size, etag: s.etag(fmt.Sprintf("-%d", len(req.Parts))), contentType: u.contentType, checksums: sums, modified: time.Now()}
	if !s.remember(bucket, key, o) {
		s.fail(w, r, http.StatusServiceUnavailable, "SlowDown", "too many objects remembered")
		return
	}
	res := completeResult{NS: s3NS, Location: "/" + bucket + "/" + key, Bucket: bucket, Key: key, ETag: o.etag}
	res.ChecksumCRC32C = sums["X-Amz-Checksum-Crc32c"]
	res.ChecksumCRC64NVME = sums["X-Amz-Checksum-Crc64nvme"]
	if len(sums) > 0 {
		res.ChecksumType = "FULL_OBJECT"
	}
	writeXML(w, res)
}

type completeResult struct {
	XMLName           xml.Name `xml:"CompleteMultipartUploadResult"`
	NS                string   `xml:"xmlns,attr"`
	Location          string
	Bucket            string
	Key               string
	ETag              string
	ChecksumCRC32C    string `xml:",omitempty"`
	ChecksumCRC64NVME string `xml:",omitempty"`
	ChecksumType      string `xml:",omitempty"`
}

func (s *Server) abortMultipart(w http.ResponseWriter, id string) {
	s.mu.Lock()
	delete(s.uploads, id)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func writeChecksums(w http.ResponseWriter, sums map[string]string) {
	for k, v := range sums {
		w.Header().Set(k, v)
	}
}

func writeXML(w http.ResponseWriter, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(out)
}

// fail writes an S3 error document (headers only for HEAD).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	out, err := xml.Marshal(struct {
		XMLName  xml.Name `xml:"Error"`
		Code     string
		Message  string
		Resource string
	}{Code: code, Message: msg, Resource: r.URL.Path})
	if err != nil {
		out = nil
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}
