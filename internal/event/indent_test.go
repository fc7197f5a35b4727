package event

import (
	"bytes"
	"encoding/json"
)

func indent(dst *bytes.Buffer, b []byte) error {
	if err := json.Indent(dst, b, "", "  "); err != nil {
		return err
	}
	dst.WriteByte('\n')
	return nil
}
