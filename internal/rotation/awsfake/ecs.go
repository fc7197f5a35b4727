package awsfake

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Rollout says how a new deployment of a service progresses.
type Rollout int

const (
	// RolloutCompletes: the deployment completes after Polls DescribeServices calls.
	RolloutCompletes Rollout = iota
	// RolloutNever: the deployment stays IN_PROGRESS with no task running.
	RolloutNever
	// RolloutFails: after Polls calls ECS marks the deployment FAILED (circuit breaker).
	RolloutFails
)

// Deployment is one deployment of a service.
type Deployment struct {
	ID      string
	Status  string // PRIMARY, ACTIVE
	State   string // IN_PROGRESS, COMPLETED, FAILED
	Created time.Time
	Running int
	polls   int
}

// Service is one service of the fake cluster.
type Service struct {
	Name        string
	Desired     int
	Rollout     Rollout
	Polls       int // DescribeServices calls until the rollout ends
	Deployments []*Deployment
}

// ECS is a stateful ECS cluster with services and their deployments.
type ECS struct {
	mu       sync.Mutex
	cluster  string
	services map[string]*Service
	events   []string
	seq      int
	// Intercept, when set, may answer an operation with a fault.
	Intercept func(op string, body map[string]any) *Fault
}

// NewECS returns a cluster named cluster with no services.
func NewECS(cluster string) *ECS {
	return &ECS{cluster: cluster, services: map[string]*Service{}}
}

// AddService adds a service running desired tasks of one completed
// deployment created an hour ago.
func (f *ECS) AddService(name string, desired int, rollout Rollout, polls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.services[name] = &Service{Name: name, Desired: desired, Rollout: rollout, Polls: polls, Deployments: []*Deployment{{
		ID: fmt.Sprintf("ecs-svc/%d", f.seq), Status: "PRIMARY", State: "COMPLETED", Created: time.Now().Add(-time.Hour), Running: desired,
	}}}
}

// Events returns what happened, in order: "update NAME" for each forced
// deployment, "completed NAME" and "failed NAME" when a rollout ends.
func (f *ECS) Events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

// SetRollout changes how the next deployments of a service progress.
func (f *ECS) SetRollout(name string, r Rollout, polls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services[name].Rollout, f.services[name].Polls = r, polls
}

func (f *ECS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := readRequest(w, r, "AmazonEC2ContainerServiceV20141113", "ecs")
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Intercept != nil {
		if fault := f.Intercept(req.op, req.body); fault != nil {
			writeError(w, fault.Status, fault.Type, "injected")
			return
		}
	}
	if c := req.str("cluster"); c != f.cluster && c != f.clusterARN() {
		writeError(w, 400, "ClusterNotFoundException", "Cluster not found.")
		return
	}
	switch req.op {
	case "UpdateService":
		s := f.find(req.str("service"))
		if s == nil {
			writeError(w, 400, "ServiceNotFoundException", "Service not found.")
			return
		}
		if !req.boolean("forceNewDeployment") {
			writeError(w, 400, "InvalidParameterException", "this fake only forces new deployments")
			return
		}
		for _, d := range s.Deployments {
			d.Status = "ACTIVE"
		}
		f.seq++
		s.Deployments = append([]*Deployment{{ID: fmt.Sprintf("ecs-svc/%d", f.seq), Status: "PRIMARY", State: "IN_PROGRESS", Created: time.Now()}}, s.Deployments...)
		f.events = append(f.events, "update "+s.Name)
		writeJSON(w, map[string]any{"service": f.render(s)})
	case "DescribeServices":
		var found []any
		var failures []any
		for _, name := range req.strs("services") {
			s := f.find(name)
			if s == nil {
				failures = append(failures, map[string]any{"arn": f.serviceARN(name), "reason": "MISSING"})
				continue
			}
			f.advance(s)
			found = append(found, f.render(s))
		}
		writeJSON(w, map[string]any{"services": found, "failures": failures})
	default:
		writeError(w, 400, "UnknownOperationException", "not modelled: "+req.op)
	}
}

func (f *ECS) clusterARN() string {
	return "arn:aws:ecs:eu-west-1:123456789012:cluster/" + f.cluster
}

func (f *ECS) serviceARN(name string) string {
	return "arn:aws:ecs:eu-west-1:123456789012:service/" + f.cluster + "/" + name
}

func (f *ECS) find(name string) *Service {
	for _, s := range f.services {
		if name == s.Name || name == f.serviceARN(s.Name) {
			return s
		}
	}
	return nil
}

// advance moves the primary deployment's rollout one poll forward.
func (f *ECS) advance(s *Service) {
	p := s.Deployments[0]
	if p.State != "IN_PROGRESS" || s.Rollout == RolloutNever {
		return
	}
	p.polls++
	if p.polls < s.Polls {
		p.Running = min(s.Desired, p.polls)
		return
	}
	if s.Rollout == RolloutFails {
		p.State = "FAILED"
		f.events = append(f.events, "failed "+s.Name)
		return
	}
	p.State, p.Running = "COMPLETED", s.Desired
	s.Deployments = s.Deployments[:1]
	f.events = append(f.events, "completed "+s.Name)
}

func (f *ECS) render(s *Service) map[string]any {
	var deps []any
	running := 0
	for _, d := range s.Deployments {
		running += d.Running // old tasks run until the new deployment replaces them
		deps = append(deps, map[string]any{
			"id": d.ID, "status": d.Status, "rolloutState": d.State, "createdAt": epoch(d.Created),
			"updatedAt": epoch(d.Created), "desiredCount": s.Desired, "runningCount": d.Running,
			"pendingCount": s.Desired - d.Running, "taskDefinition": f.serviceARN(s.Name) + ":1",
			"rolloutStateReason": strings.ToLower(d.State),
		})
	}
	return map[string]any{
		"serviceName": s.Name, "serviceArn": f.serviceARN(s.Name), "clusterArn": f.clusterARN(),
		"status": "ACTIVE", "desiredCount": s.Desired, "runningCount": running, "pendingCount": 0,
		"deployments": deps,
	}
}
