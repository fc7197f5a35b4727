package secrets

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// ClientOptions configure NewClient. Credentials come from the SDK's default
// chain (task role, AWS_* variables, profile).
type ClientOptions struct {
	Region   string // empty: the SDK's (AWS_REGION, profile, IMDS)
	Endpoint string // empty: the regional endpoint; set for tests and VPC endpoints
}

// NewClient returns a Secrets Manager client.
func NewClient(ctx context.Context, o ClientOptions) (*secretsmanager.Client, error) {
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("secrets: cannot load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("secrets: no AWS region: set --region or AWS_REGION")
	}
	return secretsmanager.NewFromConfig(cfg, func(so *secretsmanager.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = &o.Endpoint
		}
	}), nil
}
