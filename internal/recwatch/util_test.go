package recwatch

import (
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func testutilCount(d *Daemon, reason string) float64 {
	return testutil.ToFloat64(d.metrics.failed.WithLabelValues(reason))
}

func timeNow() time.Time { return time.Now() }
