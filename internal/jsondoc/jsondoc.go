// Package jsondoc checks the envelope every versioned JSON document of the
// project shares (the manifest, the completion event): a size bound, a
// "schema" name and a "version" this build can read. The packages that own
// the documents decode the rest.
package jsondoc

import (
	"encoding/json"
	"fmt"
)

// Check returns an error unless b is at most maxSize bytes of JSON whose
// "schema" is schema and whose "version" is between 1 and version.
func Check(b []byte, maxSize int, schema string, version int) error {
	if len(b) > maxSize {
		return fmt.Errorf("%d bytes is larger than %d", len(b), maxSize)
	}
	var env struct {
		Schema  string `json:"schema"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return err
	}
	if env.Schema != schema {
		return fmt.Errorf("schema %q, want %q", env.Schema, schema)
	}
	if env.Version < 1 || env.Version > version {
		return fmt.Errorf("version %d is not supported (this build reads 1..%d)", env.Version, version)
	}
	return nil
}
