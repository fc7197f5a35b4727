package metrics

import (
	"encoding/json"
	"time"
)

// EventCounts is what a delivery pass of the webhook outbox did and, with
// Gauges, what it left.
type EventCounts struct {
	Delivered int // deliveries answered 2xx
	Failed    int // attempts that failed (retried later)
	// Gauges: Pending and OldestPendingSeconds are known (the watcher's
	// passes over the whole outbox; finalize's own attempt reports counts
	// only).
	Gauges               bool
	Pending              int     // events not delivered to every webhook, dead letters included
	OldestPendingSeconds float64 // age of the oldest of them; 0 when none
}

// Events renders c as one CloudWatch EMF document with the Environment
// dimension: EventsDelivered and EventsFailed (Count), and with Gauges,
// EventsPending (Count) and EventOldestPendingSeconds (Seconds).
func Events(namespace, environment string, at time.Time, c EventCounts) ([]byte, error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if environment == "" {
		environment = "default"
	}
	defs := []map[string]string{{"Name": "EventsDelivered", "Unit": "Count"}, {"Name": "EventsFailed", "Unit": "Count"}}
	doc := map[string]any{"Environment": environment, "EventsDelivered": c.Delivered, "EventsFailed": c.Failed}
	if c.Gauges {
		defs = append(defs, map[string]string{"Name": "EventsPending", "Unit": "Count"}, map[string]string{"Name": "EventOldestPendingSeconds", "Unit": "Seconds"})
		doc["EventsPending"], doc["EventOldestPendingSeconds"] = c.Pending, c.OldestPendingSeconds
	}
	doc["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  namespace,
			"Dimensions": [][]string{{"Environment"}},
			"Metrics":    defs,
		}},
	}
	return json.Marshal(doc)
}
