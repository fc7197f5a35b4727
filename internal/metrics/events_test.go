package metrics

import (
	"encoding/json"
	"testing"
	"time"
)

func TestEventsEMF(t *testing.T) {
	for _, gauges := range []bool{false, true} {
		b, err := Events("NS", "prod", time.Unix(1764000000, 0), EventCounts{Delivered: 2, Failed: 3, Gauges: gauges, Pending: 4, OldestPendingSeconds: 61.5})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			AWS struct {
				Timestamp         int64
				CloudWatchMetrics []struct {
					Namespace string
					Metrics   []struct{ Name, Unit string }
				}
			} `json:"_aws"`
			Environment                   string
			EventsDelivered, EventsFailed int
			EventsPending                 *int
			EventOldestPendingSeconds     *float64
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		names := map[string]string{}
		for _, m := range doc.AWS.CloudWatchMetrics[0].Metrics {
			names[m.Name] = m.Unit
		}
		if doc.EventsDelivered != 2 || doc.EventsFailed != 3 || doc.Environment != "prod" || names["EventsDelivered"] != "Count" || names["EventsFailed"] != "Count" {
			t.Fatalf("%s", b)
		}
		if gauges != (doc.EventsPending != nil) || gauges && (*doc.EventsPending != 4 || *doc.EventOldestPendingSeconds != 61.5 || names["EventOldestPendingSeconds"] != "Seconds" || names["EventsPending"] != "Count") {
			t.Fatalf("gauges %v: %s", gauges, b)
		}
		if !gauges && len(names) != 2 {
			t.Fatalf("%s", b)
		}
	}
}
