package recwatch

import (
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func testutilCount(d *Daemon, reason string) float64 {
	return testutil.ToFloat64(d.metrics.failed.WithLabelValues(reason))
}
