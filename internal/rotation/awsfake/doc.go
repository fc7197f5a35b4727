// Package awsfake holds stateful test servers for the two AWS JSON-protocol
// (awsJson1_1) APIs the rotation function calls: Secrets Manager (versions,
// staging labels, client request tokens, random passwords) and ECS (services,
// deployments and their roll-out). Tests point the real SDK clients at them,
// so requests are signed, serialized and parsed as against AWS.
//
// Only the operations and rules the rotation relies on are modelled; each
// rule is the one the AWS API reference states for that operation.
package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Fault is an error response to send instead of (or after) an operation.
type Fault struct {
	Status int    // HTTP status; 400 if zero
	Type   string // __type, e.g. AccessDeniedException or InternalServiceError
	Apply  bool   // perform the operation first: the response is lost after the change
}

type request struct {
	op   string
	body map[string]any
}

// readRequest checks what every awsJson1_1 request carries and decodes it.
func readRequest(w http.ResponseWriter, r *http.Request, prefix, scope string) (*request, bool) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || !strings.HasPrefix(target, prefix+".") {
		writeError(w, 400, "UnknownOperationException", "unexpected target "+target)
		return nil, false
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		writeError(w, 400, "SerializationException", "content type "+ct)
		return nil, false
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/"+scope+"/aws4_request") {
		writeError(w, 400, "MissingAuthenticationTokenException", "request is not signed for "+scope)
		return nil, false
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, 400, "SerializationException", "cannot read body")
		return nil, false
	}
	req := &request{op: strings.TrimPrefix(target, prefix+".")}
	if err := json.Unmarshal(b, &req.body); err != nil {
		writeError(w, 400, "SerializationException", "body is not JSON")
		return nil, false
	}
	return req, true
}

func (q *request) str(k string) string {
	s, _ := q.body[k].(string)
	return s
}

func (q *request) strs(k string) []string {
	raw, _ := q.body[k].([]any)
	var out []string
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (q *request) boolean(k string) bool {
	b, _ := q.body[k].(bool)
	return b
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("awsfake: %v", err))
	}
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	if status == 0 {
		status = 400
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"__type":%q,"message":%q}`, typ, msg)
}
