package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/units"
)

// Counts returns how many entries are in each state.
func Counts(entries []Entry) map[State]int {
	c := map[State]int{}
	for _, e := range entries {
		c[e.State]++
	}
	return c
}

// WriteJSON prints entries as one JSON document.
func WriteJSON(w io.Writer, root string, now time.Time, entries []Entry) error {
	doc := struct {
		Root       string        `json:"root"`
		Time       time.Time     `json:"time"`
		Counts     map[State]int `json:"counts"`
		Recordings []Entry       `json:"recordings"`
	}{root, now.UTC(), Counts(entries), entries}
	if doc.Recordings == nil {
		doc.Recordings = []Entry{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// WriteTable prints entries for a human.
func WriteTable(w io.Writer, root string, now time.Time, entries []Entry) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintf(w, "no recordings under %s\n", root)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tSTATE\tSIZE\tAGE\tATTEMPTS\tDETAIL")
	for _, e := range entries {
		detail := e.Reason
		switch e.State {
		case Settling, Recording, Failed:
			if !e.ReadyAt.IsZero() {
				detail = strings.TrimSpace(detail + " next in " + roundDur(e.ReadyAt.Sub(now)))
			}
		}
		if e.PartsTotal > 0 && !e.Committed {
			detail = strings.TrimSpace(fmt.Sprintf("%s (%d/%d parts stored)", detail, e.PartsStored, e.PartsTotal))
		}
		if len(e.Unplayable) > 0 {
			detail = strings.TrimSpace(detail + " UNPLAYABLE " + truncate(strings.Join(e.Unplayable, "; "), 100))
		}
		if (e.State == Failed || e.State == Stuck || e.State == Pending) && e.LastError != "" {
			detail = strings.TrimSpace(detail + ": " + truncate(e.LastError, 100))
		}
		attempts := "-"
		if e.Attempts > 0 {
			attempts = fmt.Sprint(e.Attempts)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Session, e.State, units.Bytes(e.Bytes), roundDur(e.Age(now)), attempts, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, s := range States {
		if n := Counts(entries)[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	_, err := fmt.Fprintf(w, "%d recording(s): %s\n", len(entries), strings.Join(parts, ", "))
	return err
}

func roundDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
