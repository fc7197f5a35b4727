package outbox

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jitsi-recorder/jibri-s3/internal/webhook"
)

// Status is an event as `recwatch status` shows it.
type Status struct {
	ID          string    `json:"id"`
	Session     string    `json:"session_id,omitempty"`
	ManifestKey string    `json:"manifest_key,omitempty"`
	State       string    `json:"state"` // queued, retrying, dead, unreadable
	QueuedAt    time.Time `json:"queued_at"`
	AgeSeconds  float64   `json:"age_seconds"`
	Targets     []Target  `json:"targets"`
	Error       string    `json:"error,omitempty"`
}

// Describe turns listed entries into statuses under policy p at now.
func Describe(list []Listed, p webhook.Policy, now time.Time) []Status {
	out := make([]Status, 0, len(list))
	for _, l := range list {
		s := Status{ID: l.ID, Session: l.Session, ManifestKey: l.ManifestKey, QueuedAt: l.QueuedAt, AgeSeconds: now.Sub(l.QueuedAt).Round(time.Second).Seconds(), Targets: []Target{}}
		keys := make([]string, 0, len(l.Targets))
		for k := range l.Targets {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s.Targets = append(s.Targets, *l.Targets[k])
		}
		switch {
		case l.Err != nil:
			s.State, s.Error = "unreadable", l.Err.Error()
		case p.Expired(l.QueuedAt, now):
			s.State = "dead"
		case len(s.Targets) == 0:
			s.State = "queued"
		default:
			s.State = "retrying"
		}
		out = append(out, s)
	}
	return out
}

// WriteJSON prints the statuses as one JSON document.
func WriteJSON(w io.Writer, dir string, now time.Time, st []Status) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Outbox string    `json:"outbox"`
		Time   time.Time `json:"time"`
		Events []Status  `json:"events"`
	}{dir, now.UTC(), st})
}

// WriteTable prints the statuses for a human.
func WriteTable(w io.Writer, dir string, now time.Time, st []Status) error {
	if len(st) == 0 {
		_, err := fmt.Fprintf(w, "no undelivered events in %s\n", dir)
		return err
	}
	fmt.Fprintf(w, "%d undelivered event(s) in %s\n", len(st), dir)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT\tSESSION\tSTATE\tAGE\tATTEMPTS\tDETAIL")
	for _, s := range st {
		attempts := 0
		var detail []string
		for _, t := range s.Targets {
			attempts += t.Attempts
			switch {
			case !t.DeliveredAt.IsZero():
				detail = append(detail, t.Endpoint+": delivered")
			case t.Gone:
				detail = append(detail, t.Endpoint+": 410 gone")
			default:
				d := t.Endpoint + ": " + t.LastError
				if !t.NextAt.IsZero() && s.State == "retrying" {
					d += fmt.Sprintf(" (next in %s)", max(t.NextAt.Sub(now), 0).Round(time.Second))
				}
				detail = append(detail, d)
			}
		}
		if s.Error != "" {
			detail = append(detail, s.Error)
		}
		if s.State == "dead" {
			detail = append(detail, "past the give-up age: no more attempts (remove the file once handled, or raise --webhook-give-up)")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", s.ID, s.Session, s.State, time.Duration(s.AgeSeconds*float64(time.Second)).Round(time.Second), attempts, strings.Join(detail, "; "))
	}
	return tw.Flush()
}
