package awsfake

import (
	"crypto/rand"
	"math/big"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Version is one version of a secret.
type Version struct {
	ID      string
	String  string
	Stages  []string
	Created time.Time
}

// Secret is one secret of the fake.
type Secret struct {
	Name            string
	ARN             string
	RotationEnabled bool
	Versions        map[string]*Version
}

// SecretsManager is a stateful Secrets Manager. Its exported fields may be
// set before the server serves; afterwards use the methods, which lock.
type SecretsManager struct {
	mu      sync.Mutex
	secrets map[string]*Secret // by name
	calls   []string
	bodies  map[string][]map[string]any
	random  []string
	// Intercept, when set, may answer an operation with a fault.
	Intercept func(op string, body map[string]any) *Fault
}

// NewSecretsManager returns an empty fake.
func NewSecretsManager() *SecretsManager {
	return &SecretsManager{secrets: map[string]*Secret{}}
}

// AddSecret creates a secret whose AWSCURRENT version (id "v1") holds value.
// It returns the secret's ARN.
func (f *SecretsManager) AddSecret(name, value string, rotationEnabled bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + name + "-AbCdEf"
	f.secrets[name] = &Secret{Name: name, ARN: arn, RotationEnabled: rotationEnabled, Versions: map[string]*Version{
		"v1": {ID: "v1", String: value, Stages: []string{"AWSCURRENT"}, Created: time.Now().Add(-90 * 24 * time.Hour)},
	}}
	return arn
}

// StageVersion attaches an empty-stage placeholder for token as Secrets
// Manager's RotateSecret does before it calls createSecret: the version id
// appears in VersionIdsToStages with AWSPENDING, with no value yet.
func (f *SecretsManager) StageVersion(name, token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[name]
	s.Versions[token] = &Version{ID: token, Stages: []string{"AWSPENDING"}, Created: time.Now()}
}

// Stages returns version id -> stages of versions that have any.
func (f *SecretsManager) Stages(name string) map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.secrets[name].stages()
}

// Value returns the string of the version holding stage, or "".
func (f *SecretsManager) Value(name, stage string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.secrets[name].Versions {
		if slices.Contains(v.Stages, stage) {
			return v.String
		}
	}
	return ""
}

// SetValue replaces the string of a version (to plant a bad pending version).
func (f *SecretsManager) SetValue(name, id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[name].Versions[id].String = value
}

// Calls returns the operations served, in order.
func (f *SecretsManager) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Bodies returns the decoded request bodies of one operation, in order.
func (f *SecretsManager) Bodies(op string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bodies[op])
}

// Generated returns every value GetRandomPassword handed out.
func (f *SecretsManager) Generated() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.random)
}

func (s *Secret) stages() map[string][]string {
	out := map[string][]string{}
	for id, v := range s.Versions {
		if len(v.Stages) > 0 {
			out[id] = slices.Clone(v.Stages)
		}
	}
	return out
}

func (f *SecretsManager) find(id string) *Secret {
	for _, s := range f.secrets {
		if id == s.Name || id == s.ARN {
			return s
		}
	}
	return nil
}

// detach removes stage from every version of s.
func (s *Secret) detach(stage string) (from string) {
	for id, v := range s.Versions {
		if i := slices.Index(v.Stages, stage); i >= 0 {
			v.Stages = slices.Delete(v.Stages, i, i+1)
			from = id
		}
	}
	return from
}

func (s *Secret) attach(stage, id string) {
	prev := s.detach(stage)
	v := s.Versions[id]
	v.Stages = append(v.Stages, stage)
	if stage == "AWSCURRENT" && prev != "" && prev != id {
		s.detach("AWSPREVIOUS")
		s.Versions[prev].Stages = append(s.Versions[prev].Stages, "AWSPREVIOUS")
	}
}

func (f *SecretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := readRequest(w, r, "secretsmanager", "secretsmanager")
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req.op)
	if f.bodies == nil {
		f.bodies = map[string][]map[string]any{}
	}
	f.bodies[req.op] = append(f.bodies[req.op], req.body)
	var fault *Fault
	if f.Intercept != nil {
		fault = f.Intercept(req.op, req.body)
	}
	if fault != nil && !fault.Apply {
		writeError(w, fault.Status, fault.Type, "injected")
		return
	}
	status, typ, msg, out := f.serve(req)
	if fault != nil {
		writeError(w, fault.Status, fault.Type, "injected after the change")
		return
	}
	if typ != "" {
		writeError(w, status, typ, msg)
		return
	}
	writeJSON(w, out)
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (f *SecretsManager) serve(req *request) (int, string, string, any) {
	if req.op == "GetRandomPassword" {
		return f.randomPassword(req)
	}
	s := f.find(req.str("SecretId"))
	if s == nil {
		return 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.", nil
	}
	switch req.op {
	case "DescribeSecret":
		return 200, "", "", map[string]any{
			"ARN": s.ARN, "Name": s.Name, "RotationEnabled": s.RotationEnabled,
			"VersionIdsToStages": s.stages(),
		}
	case "GetSecretValue":
		id, stage := req.str("VersionId"), req.str("VersionStage")
		if id == "" && stage == "" {
			stage = "AWSCURRENT"
		}
		var v *Version
		if id != "" {
			v = s.Versions[id]
			if v != nil && stage != "" && !slices.Contains(v.Stages, stage) {
				v = nil
			}
		} else {
			for _, c := range s.Versions {
				if slices.Contains(c.Stages, stage) {
					v = c
				}
			}
		}
		if v == nil || v.String == "" {
			return 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: " + id + " VersionStage: " + stage, nil
		}
		return 200, "", "", map[string]any{
			"ARN": s.ARN, "Name": s.Name, "VersionId": v.ID, "SecretString": v.String,
			"VersionStages": v.Stages, "CreatedDate": epoch(v.Created),
		}
	case "PutSecretValue":
		token, str := req.str("ClientRequestToken"), req.str("SecretString")
		if token == "" || str == "" {
			return 400, "InvalidParameterException", "ClientRequestToken and SecretString are required here", nil
		}
		stages := req.strs("VersionStages")
		if len(stages) == 0 {
			stages = []string{"AWSCURRENT"}
		}
		if v := s.Versions[token]; v != nil && v.String != "" {
			if v.String != str {
				return 400, "ResourceExistsException", "You can't modify an existing version, you can only create a new version.", nil
			}
		} else {
			if v == nil {
				s.Versions[token] = &Version{ID: token, Created: time.Now()}
			}
			s.Versions[token].String = str
			s.Versions[token].Created = time.Now()
			for _, st := range stages {
				s.attach(st, token)
			}
		}
		return 200, "", "", map[string]any{"ARN": s.ARN, "Name": s.Name, "VersionId": token, "VersionStages": s.Versions[token].Stages}
	case "UpdateSecretVersionStage":
		stage, to, from := req.str("VersionStage"), req.str("MoveToVersionId"), req.str("RemoveFromVersionId")
		holder := ""
		for id, v := range s.Versions {
			if slices.Contains(v.Stages, stage) {
				holder = id
			}
		}
		if from != "" && from != holder {
			return 400, "InvalidParameterException", "The staging label " + stage + " is not attached to version " + from, nil
		}
		if to != "" {
			if s.Versions[to] == nil {
				return 400, "ResourceNotFoundException", "no version " + to, nil
			}
			if holder != "" && holder != to && from != holder {
				return 400, "InvalidParameterException", "The parameter RemoveFromVersionId can't be empty. Staging label " + stage + " is currently attached to version " + holder, nil
			}
			s.attach(stage, to)
		} else if from != "" {
			s.detach(stage)
		}
		return 200, "", "", map[string]any{"ARN": s.ARN, "Name": s.Name}
	}
	return 400, "UnknownOperationException", "not modelled: " + req.op, nil
}

func (f *SecretsManager) randomPassword(req *request) (int, string, string, any) {
	n := 32
	if v, ok := req.body["PasswordLength"].(float64); ok {
		n = int(v)
	}
	chars := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	if !req.boolean("ExcludePunctuation") {
		chars += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	}
	var b strings.Builder
	for b.Len() < n {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		if err != nil {
			return 500, "InternalServiceError", "no randomness", nil
		}
		b.WriteByte(chars[i.Int64()])
	}
	f.random = append(f.random, b.String())
	return 200, "", "", map[string]any{"RandomPassword": b.String()}
}

// SortedStages returns "id:STAGE,STAGE" lines, for comparing states in tests.
func SortedStages(m map[string][]string) []string {
	var out []string
	for id, st := range m {
		st = slices.Clone(st)
		sort.Strings(st)
		out = append(out, id+":"+strings.Join(st, ","))
	}
	sort.Strings(out)
	return out
}
