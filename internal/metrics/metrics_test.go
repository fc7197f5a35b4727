package metrics

import (
	"bufio"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"
)

func TestEMFShape(t *testing.T) {
	doc, err := Record{Outcome: OutcomeSuccess, Bytes: 42, Seconds: 1.5, Attempts: 2, Files: 1, Source: "finalize", Session: "abc"}.EMF("", "prod", time.UnixMilli(1700000000000))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	aws := m["_aws"].(map[string]any)
	cw := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if cw["Namespace"] != DefaultNamespace || aws["Timestamp"].(float64) != 1700000000000 {
		t.Fatalf("%s", doc)
	}
	// Every declared metric and dimension must be a top-level member.
	for _, mt := range cw["Metrics"].([]any) {
		if _, ok := m[mt.(map[string]any)["Name"].(string)]; !ok {
			t.Errorf("metric %v missing", mt)
		}
	}
	for _, dims := range cw["Dimensions"].([]any) {
		for _, d := range dims.([]any) {
			if d == "SessionId" {
				t.Error("session id used as a dimension")
			}
			if _, ok := m[d.(string)]; !ok {
				t.Errorf("dimension %v missing", d)
			}
		}
	}
	if m["RecordingsUploaded"].(float64) != 1 || m["RecordingsFailed"].(float64) != 0 {
		t.Fatalf("%s", doc)
	}
}

func TestFileSinkConcurrentLines(t *testing.T) {
	p := Spool(t.TempDir())
	s := FileSink{Path: p}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			doc, _ := Record{Outcome: OutcomeFailure, Reason: "upload"}.EMF("Jitsi/Recordings", "test", time.Now())
			if err := s.Emit(doc); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f, _ := os.Open(p)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("torn line: %q", sc.Text())
		}
		n++
	}
	if n != 50 {
		t.Fatalf("%d lines", n)
	}
}

// TestEMFUnplayable: the count of unplayable files is a declared metric,
// present (as 0) on every record so that an alarm on it has data.
func TestEMFUnplayable(t *testing.T) {
	for _, n := range []int{0, 2} {
		doc, err := Record{Outcome: OutcomeSuccess, Files: 3, Unplayable: n}.EMF("", "prod", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Metrics []struct{ Name, Unit string }
				}
			} `json:"_aws"`
			Unplayable *int
		}
		if err := json.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		declared := false
		for _, mt := range m.AWS.CloudWatchMetrics[0].Metrics {
			declared = declared || mt.Name == "Unplayable" && mt.Unit == "Count"
		}
		if !declared || m.Unplayable == nil || *m.Unplayable != n {
			t.Errorf("Unplayable %d: declared %v, value %v in %s", n, declared, m.Unplayable, doc)
		}
	}
}
