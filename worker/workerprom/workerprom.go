// Package workerprom exports a worker's measurements as Prometheus metrics:
// per-message processing time, successes, failures and messages in flight.
// The autoscaler's latency objective reads the processing time.
package workerprom

import (
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qscale/qscale/worker"
)

// Metrics implements worker.Observer.
type Metrics struct {
	received  prometheus.Counter
	succeeded prometheus.Counter
	failed    prometheus.Counter
	inFlight  prometheus.Gauge
	duration  *prometheus.HistogramVec
	success   prometheus.Observer
	failure   prometheus.Observer
}

var _ worker.Observer = (*Metrics)(nil)

// New registers the metrics with reg. queue is the queue's URL or name;
// every series is labelled queue="NAME" (the URL's last part), as qscale
// up's, qscale server's and the autoscaler's series are, so that a query
// can join them; several workers can share one registry.
func New(reg prometheus.Registerer, queue string) *Metrics {
	labels := prometheus.Labels{"queue": QueueName(queue)}
	m := &Metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qscale_worker_messages_started_total", Help: "Handler calls started.", ConstLabels: labels}),
		succeeded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qscale_worker_messages_succeeded_total", Help: "Messages whose handler succeeded.", ConstLabels: labels}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qscale_worker_messages_failed_total", Help: "Handler calls that failed or timed out.", ConstLabels: labels}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "qscale_worker_messages_in_flight", Help: "Handlers running now.", ConstLabels: labels}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "qscale_worker_processing_seconds",
			Help:        "Time a handler took per message, by outcome (success, failure).",
			ConstLabels: labels,
			Buckets:     []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}, []string{"outcome"}),
	}
	m.success = m.duration.WithLabelValues("success")
	m.failure = m.duration.WithLabelValues("failure")
	reg.MustRegister(m.received, m.succeeded, m.failed, m.inFlight, m.duration)
	return m
}

// Started implements worker.Observer.
func (m *Metrics) Started(*worker.Message) {
	m.received.Inc()
	m.inFlight.Inc()
}

// Finished implements worker.Observer.
func (m *Metrics) Finished(_ *worker.Message, took time.Duration, err error) {
	m.inFlight.Dec()
	if err == nil {
		m.succeeded.Inc()
		m.success.Observe(took.Seconds())
		return
	}
	m.failed.Inc()
	m.failure.Observe(took.Seconds())
}

// QueueName is the queue label of a queue URL or name: the name, the last
// part of the URL's path (http://127.0.0.1:9324/000000000000/jobs: jobs).
func QueueName(queue string) string {
	u, err := url.Parse(queue)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return queue
	}
	if n := path.Base(strings.TrimSuffix(u.Path, "/")); n != "." && n != "/" {
		return n
	}
	return queue
}
