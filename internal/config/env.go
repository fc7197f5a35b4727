package config

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// EnvName returns the environment variable of the flag name: EnvPrefix
// and the name in upper case, dashes as underscores (--part-size is
// JIBRI_UPLOAD_PART_SIZE).
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ApplyEnv derives the environment variables from the flag set itself, so
// the two never drift: every flag whose variable is set to a non-empty
// value is set from it, and each flag's usage names its variable. Call it
// after defining the flags and before fs.Parse, so that flags override
// variables. getenv is os.Getenv in production.
func ApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvName(f.Name)
		f.Usage = strings.TrimSpace(f.Usage + " [$" + name + "]")
		v := getenv(name)
		if v == "" {
			return // unset, or passed through empty: the default stands
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: %v", name, v, unwrapFlagErr(err)))
		}
	})
	return errors.Join(errs...)
}

// unwrapFlagErr shortens the flag package's parse errors.
func unwrapFlagErr(err error) error {
	var ne interface{ Unwrap() error }
	if errors.As(err, &ne) && ne.Unwrap() != nil {
		return ne.Unwrap()
	}
	return err
}
