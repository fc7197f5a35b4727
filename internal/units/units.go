// Package units formats sizes for people: one formatter for every command
// and log line that shows a size.
package units

import "fmt"

// Bytes formats n with binary units (1023 B, 1.5 KiB, 2.0 GiB).
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
