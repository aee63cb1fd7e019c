// Package queuemetrics exports the queue engine's per-queue figures to
// Prometheus. Its Collector reads the engine when it is scraped, so it
// costs nothing on the path of a message; `qscale server` and `qscale up`
// register the same Collector. docs/operations.md lists the series.
package queuemetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qscale/qscale/queue"
)

// Collector is a prometheus.Collector over every queue of an engine:
//
//	qscale_queue_messages{queue,state}              visible, in_flight, delayed
//	qscale_queue_messages_total{queue,event}        sent, received, deleted, moved, expired
//	qscale_queue_oldest_message_age_seconds{queue}  of the messages not in flight
type Collector struct {
	engine                   *queue.Engine
	messages, totals, oldest *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns the Collector of e's queues.
func New(e *queue.Engine) *Collector {
	return &Collector{
		engine: e,
		messages: prometheus.NewDesc("qscale_queue_messages",
			"Messages in a queue by state: visible, in_flight, delayed (SQS's ApproximateNumberOfMessages*).",
			[]string{"queue", "state"}, nil),
		totals: prometheus.NewDesc("qscale_queue_messages_total",
			"Messages handled by a queue since the server started, by event: sent, received, deleted, moved (to a dead-letter queue), expired.",
			[]string{"queue", "event"}, nil),
		oldest: prometheus.NewDesc("qscale_queue_oldest_message_age_seconds",
			"Age of the oldest message that is not in flight (0 when there is none).", []string{"queue"}, nil),
	}
}

// Describe sends the three descriptors.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.totals
	ch <- c.oldest
}

// Collect reads every queue's counts, totals and oldest age. Each read
// takes the queue's lock briefly; queues are read one after the other.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range c.engine.Queues() {
		name := q.Name()
		n := q.Counts()
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(n.Visible), name, "visible")
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(n.Inflight), name, "in_flight")
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(n.Delayed), name, "delayed")
		s := q.Stats()
		for _, e := range [...]struct {
			event string
			n     uint64
		}{{"sent", s.Sent}, {"received", s.Received}, {"deleted", s.Deleted}, {"moved", s.Moved}, {"expired", s.Expired}} {
			ch <- prometheus.MustNewConstMetric(c.totals, prometheus.CounterValue, float64(e.n), name, e.event)
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, q.OldestAge().Seconds(), name)
	}
}
