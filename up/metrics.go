package up

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/prommetrics"
	"github.com/qscale/qscale/queue"
)

// metrics is qscale up's Prometheus collector. Queue figures are read from
// the engine at scrape time; the fleet's and the autoscaler's come from
// package prommetrics, which qscale autoscale's console shares.
// docs/up.md lists the series.
type metrics struct {
	engine *queue.Engine
	*prommetrics.Collector

	messages, totals, oldest *prometheus.Desc
}

func newMetrics(reg prometheus.Registerer, e *queue.Engine, fleetQueue string, last func() (autoscale.Decision, bool)) *metrics {
	m := &metrics{
		engine:    e,
		Collector: prommetrics.New(reg, prommetrics.Options{Queue: fleetQueue, Last: last}),
		messages: prometheus.NewDesc("qscale_queue_messages",
			"Messages in a queue by state: visible, in_flight, delayed (SQS's ApproximateNumberOfMessages*).",
			[]string{"queue", "state"}, nil),
		totals: prometheus.NewDesc("qscale_queue_messages_total",
			"Messages handled by a queue since the server started, by event: sent, received, deleted, moved (to a dead-letter queue), expired.",
			[]string{"queue", "event"}, nil),
		oldest: prometheus.NewDesc("qscale_queue_oldest_message_age_seconds",
			"Age of the oldest message that is not in flight.", []string{"queue"}, nil),
	}
	reg.MustRegister(engineCollector{m})
	return m
}

// observe counts one decision.
func (m *metrics) observe(d autoscale.Decision) { m.Observe(d) }

// engineCollector exports the engine's queues.
type engineCollector struct{ m *metrics }

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.m.messages, c.m.totals, c.m.oldest} {
		ch <- d
	}
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, q := range m.engine.Queues() {
		name := q.Name()
		c := q.Counts()
		gauge(m.messages, float64(c.Visible), name, "visible")
		gauge(m.messages, float64(c.Inflight), name, "in_flight")
		gauge(m.messages, float64(c.Delayed), name, "delayed")
		s := q.Stats()
		for _, e := range []struct {
			event string
			n     uint64
		}{{"sent", s.Sent}, {"received", s.Received}, {"deleted", s.Deleted}, {"moved", s.Moved}, {"expired", s.Expired}} {
			ch <- prometheus.MustNewConstMetric(m.totals, prometheus.CounterValue, float64(e.n), name, e.event)
		}
		gauge(m.oldest, q.OldestAge().Seconds(), name)
	}
}

// target is the backlog per worker the decision's policies aimed for.
func target(d autoscale.Decision) float64 { return prommetrics.Target(d) }
