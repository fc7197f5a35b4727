package rotation

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

// SecretsAPI is the Secrets Manager calls a rotation makes. Each returns the
// SDK's error unchanged: an API error (smithy.APIError, e.g.
// ResourceNotFoundException for a version or stage that does not exist) or a
// transport error the SDK retryer has already retried.
type SecretsAPI interface {
	// DescribeSecret returns the rotation flag and the versions with their stages.
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	// GetSecretValue returns one version, chosen by id and/or stage.
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	// GetRandomPassword returns a new random value; it stores nothing.
	GetRandomPassword(ctx context.Context, in *secretsmanager.GetRandomPasswordInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetRandomPasswordOutput, error)
	// PutSecretValue stores a version; it is idempotent for the same token and
	// the same value, and fails with ResourceExistsException for another value.
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	// UpdateSecretVersionStage moves or removes a staging label.
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

// ECSAPI is the ECS calls a rotation makes. Errors as for [SecretsAPI]
// (ServiceNotFoundException, ClusterNotFoundException, AccessDeniedException).
type ECSAPI interface {
	// UpdateService with ForceNewDeployment replaces every task of a service.
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	// DescribeServices reports deployments; a missing service is a Failure, not an error.
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

var (
	_ SecretsAPI = (*secretsmanager.Client)(nil)
	_ ECSAPI     = (*ecs.Client)(nil)
)

var (
	// ErrRotationDisabled: the secret does not have rotation enabled.
	ErrRotationDisabled = errors.New("rotation is not enabled on the secret")
	// ErrNotStaged: the token is not a version of the secret, or not AWSPENDING.
	ErrNotStaged = errors.New("token is not staged for rotation")
	// ErrUnknownStep: the event names no rotation step this function knows.
	ErrUnknownStep = errors.New("unknown rotation step")
	// ErrInvalidSecret: a version is not the JSON object of variables expected.
	ErrInvalidSecret = errors.New("invalid secret")
	// ErrNotStable: a service did not become stable before the deadline.
	ErrNotStable = errors.New("service not stable")
	// ErrDeploymentFailed: ECS marked a deployment FAILED.
	ErrDeploymentFailed = errors.New("deployment failed")
	// ErrConfig: the function's environment is incomplete or invalid.
	ErrConfig = errors.New("invalid configuration")
)

// IsPermanent reports whether retrying the same step cannot help until
// something is changed (the secret, its rotation settings, the configuration).
func IsPermanent(err error) bool {
	return errors.Is(err, ErrRotationDisabled) || errors.Is(err, ErrNotStaged) ||
		errors.Is(err, ErrUnknownStep) || errors.Is(err, ErrInvalidSecret) ||
		errors.Is(err, ErrConfig) || errors.Is(err, ErrDeploymentFailed) ||
		isAPIError(err, "AccessDeniedException", "ResourceNotFoundException", "ServiceNotFoundException", "ClusterNotFoundException")
}

func isAPIError(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}
