package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/rs/zerolog"
)

// rollServices restarts every configured service in order, each one stable
// before the next. A service whose primary deployment was created at or after
// notBefore (the new version's creation) is not forced again: a retried
// finishSecret waits for it instead of restarting it twice.
func (r *Rotator) rollServices(ctx context.Context, log zerolog.Logger, notBefore time.Time) error {
	for _, name := range r.cfg.Services {
		slog := log.With().Str(keyService, name).Logger()
		svc, err := r.describe(ctx, name)
		if err != nil {
			return err
		}
		since := notBefore
		if p := primary(svc); p != nil && p.CreatedAt != nil && !p.CreatedAt.Before(notBefore) {
			slog.Info().Str(keyDeployment, aws.ToString(p.Id)).Msg("already deployed since the new version: waiting for it")
		} else {
			out, err := r.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
				Cluster:            aws.String(r.cfg.Cluster),
				Service:            aws.String(name),
				ForceNewDeployment: true,
			})
			if err != nil {
				return fmt.Errorf("service %s: cannot force a new deployment: %w", name, err)
			}
			if p := primary(out.Service); p != nil && p.CreatedAt != nil {
				since = *p.CreatedAt
				slog = slog.With().Str(keyDeployment, aws.ToString(p.Id)).Logger()
			}
			slog.Info().Msg("forced a new deployment")
		}
		if err := r.waitStable(ctx, slog, name, since); err != nil {
			slog.Error().Err(err).Msg("service did not become stable")
			return err
		}
		slog.Info().Msg("service stable")
	}
	return nil
}

func (r *Rotator) describe(ctx context.Context, name string) (*types.Service, error) {
	out, err := r.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(r.cfg.Cluster),
		Services: []string{name},
	})
	if err != nil {
		return nil, fmt.Errorf("service %s: cannot describe it: %w", name, err)
	}
	for i := range out.Services {
		s := &out.Services[i]
		if aws.ToString(s.ServiceName) == name || aws.ToString(s.ServiceArn) == name {
			if st := aws.ToString(s.Status); st != "ACTIVE" {
				return nil, fmt.Errorf("service %s: %w: status %s, not ACTIVE", name, ErrConfig, st)
			}
			return s, nil
		}
	}
	reason := "not returned"
	for _, f := range out.Failures {
		reason = aws.ToString(f.Reason)
	}
	return nil, fmt.Errorf("service %s in cluster %s: %w: %s", name, r.cfg.Cluster, ErrConfig, reason)
}

func primary(s *types.Service) *types.Deployment {
	if s == nil {
		return nil
	}
	for i := range s.Deployments {
		if aws.ToString(s.Deployments[i].Status) == "PRIMARY" {
			return &s.Deployments[i]
		}
	}
	return nil
}

// stableState reports whether the service runs only a deployment created at
// or after since, fully rolled out; an error if ECS gave that deployment up.
func stableState(s *types.Service, since time.Time) (bool, error) {
	p := primary(s)
	if p == nil || p.CreatedAt == nil || p.CreatedAt.Before(since) {
		return false, nil
	}
	if p.RolloutState == types.DeploymentRolloutStateFailed {
		return false, fmt.Errorf("%w: deployment %s: %s", ErrDeploymentFailed, aws.ToString(p.Id), aws.ToString(p.RolloutStateReason))
	}
	done := p.RolloutState == types.DeploymentRolloutStateCompleted ||
		p.RolloutState == "" && p.RunningCount == p.DesiredCount
	return done && len(s.Deployments) == 1 && s.RunningCount == s.DesiredCount, nil
}

func (r *Rotator) waitStable(ctx context.Context, log zerolog.Logger, name string, since time.Time) error {
	t := time.NewTimer(0)
	defer t.Stop()
	var last *types.Service
	for {
		select {
		case <-ctx.Done():
			what := fmt.Sprintf("service %s not stable", name)
			if last != nil {
				p := primary(last)
				what += fmt.Sprintf(" (%d of %d tasks running, %d deployment(s)", last.RunningCount, last.DesiredCount, len(last.Deployments))
				if p != nil {
					what += ", rollout " + string(p.RolloutState)
				}
				what += ")"
			}
			return errDeadline(ctx, what)
		case <-t.C:
		}
		s, err := r.describe(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				continue // report the deadline with the last state
			}
			return err
		}
		last = s
		ok, err := stableState(s, since)
		if err != nil {
			return fmt.Errorf("service %s: %w", name, err)
		}
		if ok {
			return nil
		}
		if p := primary(s); p != nil {
			log.Debug().Int32(keyRunning, s.RunningCount).Int32(keyDesired, s.DesiredCount).Str(keyRollout, string(p.RolloutState)).Msg("waiting for the service")
		}
		t.Reset(r.cfg.pollInterval())
	}
}

// errDeadline wraps the context's error with what was being waited for.
func errDeadline(ctx context.Context, what string) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s before the invocation's deadline: %w: %w", what, ErrNotStable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
