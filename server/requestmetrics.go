package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qscale/qscale/sqsapi"
)

// unknownAction labels requests that name no action the server knows, so
// that a client cannot grow the label set.
const unknownAction = "unknown"

// latencyBuckets span a send that waits for one fsync (about a
// millisecond) to a long poll that waits its full 20 s.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30}

// requestMetrics counts the SQS API's requests for Prometheus. It is the
// handler's sqsapi.Observer: on the path of every request, so each
// action's histogram is resolved once, here, and a request costs a map
// read and an atomic add. Errors (rare) look their counter up by label.
type requestMetrics struct {
	latency  *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	byAction map[string]prometheus.Observer // read-only after newRequestMetrics
	unknown  prometheus.Observer
}

var _ sqsapi.Observer = (*requestMetrics)(nil)

func newRequestMetrics() *requestMetrics {
	m := &requestMetrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "qscale_sqs_request_duration_seconds",
			Help:    "Time to answer an SQS API request, by action (long polls included: ReceiveMessage waits up to its WaitTimeSeconds); its _count is the number of requests.",
			Buckets: latencyBuckets,
		}, []string{"action"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qscale_sqs_request_errors_total",
			Help: "SQS API requests answered with an error, by action and SQS error code.",
		}, []string{"action", "code"}),
		byAction: map[string]prometheus.Observer{},
	}
	for _, a := range sqsapi.Actions() {
		m.byAction[a] = m.latency.WithLabelValues(a)
	}
	m.unknown = m.latency.WithLabelValues(unknownAction)
	return m
}

// ObserveRequest counts one answered request.
func (m *requestMetrics) ObserveRequest(action, code string, elapsed time.Duration) {
	h, known := m.byAction[action]
	if !known {
		h, action = m.unknown, unknownAction
	}
	h.Observe(elapsed.Seconds())
	if code != "" {
		m.errors.WithLabelValues(action, code).Inc()
	}
}

// register adds the counters to reg.
func (m *requestMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(m.latency, m.errors)
}
