package rotation

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Environment variables of the function (the terraform contract).
const (
	EnvCluster  = "ECS_CLUSTER"      // cluster name or ARN; required
	EnvServices = "ECS_SERVICES"     // services to restart, in order; required
	EnvKeys     = "SECRET_KEYS"      // keys the new version must hold besides the current ones; optional
	EnvKeepKeys = "SECRET_KEEP_KEYS" // keys copied unchanged (shared with a system outside the stack); optional
)

// Defaults of Config.
const (
	DefaultPollInterval   = 15 * time.Second // the SDK's services-stable waiter polls at 15 s too
	DefaultDeadlineMargin = 10 * time.Second // left to log and answer before Lambda stops the invocation
	PasswordLength        = 32
)

// Config is what a Rotator needs besides its clients.
type Config struct {
	Cluster  string
	Services []string // restarted in this order
	Required []string // keys every new version holds, in addition to the current secret's
	Keep     []string // keys copied unchanged into the new version

	PollInterval   time.Duration // zero: DefaultPollInterval
	DeadlineMargin time.Duration // zero: DefaultDeadlineMargin; negative: none
}

var (
	envName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	serviceName = regexp.MustCompile(`^(arn:[A-Za-z0-9:/_.-]+|[A-Za-z0-9][A-Za-z0-9_-]{0,254})$`)
)

// ConfigFromEnv reads the function's configuration.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	var err error
	c.Cluster = strings.TrimSpace(getenv(EnvCluster))
	if c.Cluster == "" {
		return c, fmt.Errorf("rotation: %w: %s is empty", ErrConfig, EnvCluster)
	}
	if !serviceName.MatchString(c.Cluster) {
		return c, fmt.Errorf("rotation: %w: %s %q is not a cluster name or ARN", ErrConfig, EnvCluster, c.Cluster)
	}
	if c.Services, err = ParseList(EnvServices, getenv(EnvServices), serviceName); err != nil {
		return c, err
	}
	if len(c.Services) == 0 {
		return c, fmt.Errorf("rotation: %w: %s is empty: name the services that read the secret (core first)", ErrConfig, EnvServices)
	}
	if c.Required, err = ParseList(EnvKeys, getenv(EnvKeys), envName); err != nil {
		return c, err
	}
	if c.Keep, err = ParseList(EnvKeepKeys, getenv(EnvKeepKeys), envName); err != nil {
		return c, err
	}
	for _, k := range c.Keep {
		for _, r := range c.Required {
			if k == r {
				return c, fmt.Errorf("rotation: %w: %s is in both %s and %s", ErrConfig, k, EnvKeys, EnvKeepKeys)
			}
		}
	}
	return c, nil
}

// ParseList splits a comma-separated list, trims each item and drops empty
// ones; every item must match valid and appear once. name is the variable,
// for the error.
func ParseList(name, s string, valid *regexp.Regexp) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !valid.MatchString(p) {
			return nil, fmt.Errorf("rotation: %w: %s: %q is not a valid name", ErrConfig, name, p)
		}
		if seen[p] {
			return nil, fmt.Errorf("rotation: %w: %s: %s appears twice", ErrConfig, name, p)
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}

func (c Config) pollInterval() time.Duration {
	if c.PollInterval > 0 {
		return c.PollInterval
	}
	return DefaultPollInterval
}

func (c Config) deadlineMargin() time.Duration {
	switch {
	case c.DeadlineMargin < 0:
		return 0
	case c.DeadlineMargin == 0:
		return DefaultDeadlineMargin
	}
	return c.DeadlineMargin
}
