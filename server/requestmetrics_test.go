package server

import (
	"testing"
	"time"
)

// BenchmarkObserveRequest is the cost the metrics add to every SQS request.
func BenchmarkObserveRequest(b *testing.B) {
	m := newRequestMetrics()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest("SendMessage", "", 700*time.Microsecond)
		}
	})
}
