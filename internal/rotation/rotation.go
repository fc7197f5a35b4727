package rotation

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/rs/zerolog"

	"github.com/jitsi-recorder/jibri-s3/internal/secrets"
)

// Rotation steps, as Secrets Manager names them in the event.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// Staging labels.
const (
	stageCurrent = "AWSCURRENT"
	stagePending = "AWSPENDING"
)

// Log field names.
const (
	keyStep       = "step"
	keySecret     = "secret"
	keyVersion    = "version"
	keyKeys       = "keys"
	keyKept       = "kept"
	keyService    = "service"
	keyDeployment = "deployment"
	keyRunning    = "running"
	keyDesired    = "desired"
	keyRollout    = "rollout"
)

// Rotator runs the rotation steps. It holds no state between invocations:
// everything it knows comes from the secret and the services.
type Rotator struct {
	sm  SecretsAPI
	ecs ECSAPI
	cfg Config
	log zerolog.Logger
}

// New returns a Rotator.
func New(sm SecretsAPI, ecsc ECSAPI, cfg Config, log zerolog.Logger) *Rotator {
	return &Rotator{sm: sm, ecs: ecsc, cfg: cfg, log: log}
}

// Handle is the Lambda handler: one rotation step per invocation. It returns
// nil when the step is done (or was already done), and an error, also logged,
// that makes Secrets Manager mark the rotation as failed otherwise.
func (r *Rotator) Handle(ctx context.Context, ev events.SecretsManagerSecretRotationEvent) error {
	log := r.log.With().Str(keyStep, ev.Step).Str(keySecret, ev.SecretID).Str(keyVersion, ev.ClientRequestToken).Logger()
	start := time.Now()
	if err := r.step(ctx, log, ev); err != nil {
		line := log.Error().Err(err).Dur("elapsed", time.Since(start))
		if IsPermanent(err) {
			line = line.Str("hint", "fix the secret or the function's configuration, then run aws secretsmanager rotate-secret again")
		}
		line.Msg("rotation step failed")
		return err
	}
	log.Info().Dur("elapsed", time.Since(start)).Msg("rotation step done")
	return nil
}

func (r *Rotator) step(ctx context.Context, log zerolog.Logger, ev events.SecretsManagerSecretRotationEvent) error {
	switch ev.Step {
	case StepCreate, StepSet, StepTest, StepFinish:
	default:
		return fmt.Errorf("rotation: %w %q", ErrUnknownStep, ev.Step)
	}
	if ev.SecretID == "" || ev.ClientRequestToken == "" {
		return fmt.Errorf("rotation: %s: %w: the event has no SecretId or ClientRequestToken", ev.Step, ErrNotStaged)
	}
	// Leave time to log and answer before Lambda ends the invocation.
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-r.cfg.deadlineMargin()))
		defer cancel()
	}
	meta, err := r.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ev.SecretID)})
	if err != nil {
		return fmt.Errorf("rotation: %s: cannot describe the secret: %w", ev.Step, err)
	}
	if !aws.ToBool(meta.RotationEnabled) {
		return fmt.Errorf("rotation: %s: %w", ev.Step, ErrRotationDisabled)
	}
	stages, ok := meta.VersionIdsToStages[ev.ClientRequestToken]
	if !ok {
		return fmt.Errorf("rotation: %s: %w: the secret has no version %s", ev.Step, ErrNotStaged, ev.ClientRequestToken)
	}
	if slices.Contains(stages, stageCurrent) {
		if ev.Step != StepFinish {
			log.Info().Msg("version already AWSCURRENT: nothing to do")
			return nil
		}
	} else if !slices.Contains(stages, stagePending) {
		return fmt.Errorf("rotation: %s: %w: version %s is not AWSPENDING", ev.Step, ErrNotStaged, ev.ClientRequestToken)
	}
	switch ev.Step {
	case StepCreate:
		err = r.createSecret(ctx, log, ev)
	case StepSet:
		// Nothing to set outside Secrets Manager: Prosody re-registers every account from
		// its environment at start, and each component reads its password at start; ECS
		// fills both from AWSCURRENT. finishSecret restarts them, prosody first.
		log.Info().Msg("nothing to set: the services take the new values when finishSecret restarts them")
	case StepTest:
		err = r.testSecret(ctx, log, ev)
	case StepFinish:
		err = r.finishSecret(ctx, log, ev, meta)
	}
	if err != nil {
		return fmt.Errorf("rotation: %s: %w", ev.Step, err)
	}
	return nil
}

// getVersion reads one version; id or stage may be empty.
func (r *Rotator) getVersion(ctx context.Context, secretID, id, stage string, strict bool) (map[string]secrets.Value, *secretsmanager.GetSecretValueOutput, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)}
	what := stage
	if id != "" {
		in.VersionId = aws.String(id)
		what = id
	}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := r.sm.GetSecretValue(ctx, in)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read version %s: %w", what, err)
	}
	if out.SecretString == nil {
		return nil, nil, fmt.Errorf("version %s: %w: it holds binary data", what, ErrInvalidSecret)
	}
	vals, err := parseSecret(*out.SecretString, strict)
	if err != nil {
		return nil, nil, fmt.Errorf("version %s: %w", what, err)
	}
	return vals, out, nil
}

func (r *Rotator) createSecret(ctx context.Context, log zerolog.Logger, ev events.SecretsManagerSecretRotationEvent) error {
	current, _, err := r.getVersion(ctx, ev.SecretID, "", stageCurrent, false)
	if err != nil {
		return err
	}
	_, _, err = r.getVersion(ctx, ev.SecretID, ev.ClientRequestToken, stagePending, false)
	if err == nil {
		log.Info().Msg("pending version already exists")
		return nil
	}
	if !isAPIError(err, "ResourceNotFoundException") {
		return err
	}
	plan, err := planKeys(current, r.cfg)
	if err != nil {
		return err
	}
	next := make(map[string]secrets.Value, len(current))
	for _, k := range plan.Keep {
		next[k] = current[k]
	}
	for _, k := range plan.Rotate {
		out, err := r.sm.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{
			PasswordLength:          aws.Int64(PasswordLength),
			ExcludePunctuation:      aws.Bool(true),
			RequireEachIncludedType: aws.Bool(true),
		})
		if err != nil {
			return fmt.Errorf("cannot generate a value for %s: %w", k, err)
		}
		v := aws.ToString(out.RandomPassword)
		if !validPassword(v) {
			return fmt.Errorf("generated value for %s: %w: not %d letters and digits", k, ErrInvalidSecret, PasswordLength)
		}
		next[k] = secrets.NewValue(v)
	}
	s, err := encodeSecret(next)
	if err != nil {
		return err
	}
	in := &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(ev.SecretID),
		ClientRequestToken: aws.String(ev.ClientRequestToken),
		SecretString:       aws.String(s),
		VersionStages:      []string{stagePending},
	}
	if ev.RotationToken != "" {
		in.RotationToken = aws.String(ev.RotationToken)
	}
	if _, err := r.sm.PutSecretValue(ctx, in); err != nil {
		return fmt.Errorf("cannot store the pending version: %w", err)
	}
	log.Info().Strs(keyKeys, plan.Rotate).Strs(keyKept, plan.Keep).Msg("stored the pending version")
	return nil
}

func (r *Rotator) testSecret(ctx context.Context, log zerolog.Logger, ev events.SecretsManagerSecretRotationEvent) error {
	current, _, err := r.getVersion(ctx, ev.SecretID, "", stageCurrent, false)
	if err != nil {
		return err
	}
	pending, _, err := r.getVersion(ctx, ev.SecretID, ev.ClientRequestToken, stagePending, true)
	if err != nil {
		return err
	}
	plan, err := planKeys(current, r.cfg)
	if err != nil {
		return err
	}
	if err := checkPending(current, pending, plan); err != nil {
		return err
	}
	log.Info().Strs(keyKeys, plan.All()).Msg("pending version holds every key")
	return nil
}

func (r *Rotator) finishSecret(ctx context.Context, log zerolog.Logger, ev events.SecretsManagerSecretRotationEvent, meta *secretsmanager.DescribeSecretOutput) error {
	token := ev.ClientRequestToken
	var currentID string
	for id, stages := range meta.VersionIdsToStages {
		if slices.Contains(stages, stageCurrent) {
			currentID = id
		}
	}
	if currentID != token {
		in := &secretsmanager.UpdateSecretVersionStageInput{
			SecretId:        aws.String(ev.SecretID),
			VersionStage:    aws.String(stageCurrent),
			MoveToVersionId: aws.String(token),
		}
		if currentID != "" {
			in.RemoveFromVersionId = aws.String(currentID)
		}
		if _, err := r.sm.UpdateSecretVersionStage(ctx, in); err != nil {
			return fmt.Errorf("cannot move AWSCURRENT to version %s: %w", token, err)
		}
		log.Info().Str("previous", currentID).Msg("moved AWSCURRENT to the new version")
	} else {
		log.Info().Msg("version already AWSCURRENT: resuming the service roll-out")
	}
	if slices.Contains(meta.VersionIdsToStages[token], stagePending) {
		_, err := r.sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
			SecretId:            aws.String(ev.SecretID),
			VersionStage:        aws.String(stagePending),
			RemoveFromVersionId: aws.String(token),
		})
		if err != nil {
			return fmt.Errorf("cannot remove AWSPENDING from version %s: %w", token, err)
		}
	}
	// A deployment created after the new version existed started its tasks with it only
	// if it also started after the move above; in a rotation the two are seconds apart.
	_, out, err := r.getVersion(ctx, ev.SecretID, token, "", false)
	if err != nil {
		return err
	}
	if out.CreatedDate == nil {
		return fmt.Errorf("version %s: the service did not return its creation date", token)
	}
	return r.rollServices(ctx, log, *out.CreatedDate)
}
