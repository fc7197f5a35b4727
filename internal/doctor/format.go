package doctor

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints the report for a terminal: one line per check.
func WriteTable(w io.Writer, r Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CHECK\tSTATUS\tDETAIL\n")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", res.Check, res.Status, res.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch r.Worst {
	case OK:
		_, err := fmt.Fprintf(w, "\nall checks passed: recordings will be uploaded to %s and proven\n", r.Bucket)
		return err
	case Warn:
		_, err := fmt.Fprintf(w, "\nrecordings will upload, with the warnings above\n")
		return err
	}
	_, err := fmt.Fprintf(w, "\nrecordings would NOT be uploaded as configured: fix the failed checks above\n")
	return err
}
