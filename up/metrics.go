package up

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/queue/queuemetrics"
)

// metrics is qscale up's Prometheus collector of the fleet and the
// autoscaler, read from the last decision at scrape time. The queues' own
// series come from queuemetrics, the collector qscale server registers too.
// docs/up.md lists the series.
type metrics struct {
	last  func() (autoscale.Decision, bool)
	fleet string // the autoscaled queue

	decisions *prometheus.CounterVec

	workers, backlog, target *prometheus.Desc
	rates, processing        *prometheus.Desc
}

func newMetrics(reg prometheus.Registerer, e *queue.Engine, fleetQueue string, last func() (autoscale.Decision, bool)) *metrics {
	m := &metrics{
		last: last, fleet: fleetQueue,
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qscale_autoscale_decisions_total",
			Help: "Autoscaler decisions, by the rule that decided and the direction (out, in, hold).",
		}, []string{"rule", "direction"}),
		workers: prometheus.NewDesc("qscale_fleet_workers",
			"Workers of the fleet: desired, running, starting.", []string{"queue", "state"}, nil),
		backlog: prometheus.NewDesc("qscale_autoscale_backlog_per_worker",
			"Visible messages per running worker, as the autoscaler last read it.", []string{"queue"}, nil),
		target: prometheus.NewDesc("qscale_autoscale_backlog_per_worker_target",
			"The backlog per worker the policies aim for.", []string{"queue"}, nil),
		rates: prometheus.NewDesc("qscale_queue_rate_per_second",
			"Messages per second over the autoscaler's window: arrival (sent) and completion (deleted).", []string{"queue", "kind"}, nil),
		processing: prometheus.NewDesc("qscale_queue_processing_seconds",
			"Mean time a message spends in flight before its delete (Little's law over the autoscaler's window).", []string{"queue"}, nil),
	}
	reg.MustRegister(queuemetrics.New(e), m, m.decisions)
	return m
}

// observe counts one decision.
func (m *metrics) observe(d autoscale.Decision) {
	dir := "hold"
	switch {
	case !d.Applied:
	case d.To > d.From:
		dir = "out"
	case d.To < d.From:
		dir = "in"
	}
	m.decisions.WithLabelValues(d.Rule, dir).Inc()
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.workers, m.backlog, m.target, m.rates, m.processing} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	d, ok := m.last()
	if !ok {
		return
	}
	o := d.Observation
	gauge(m.workers, float64(o.Fleet.Desired), m.fleet, "desired")
	gauge(m.workers, float64(o.Fleet.Running), m.fleet, "running")
	gauge(m.workers, float64(o.Fleet.Starting), m.fleet, "starting")
	gauge(m.backlog, o.BacklogPerWorker, m.fleet)
	if t := target(d); t > 0 {
		gauge(m.target, t, m.fleet)
	}
	gauge(m.rates, o.Queue.ArrivalRate, m.fleet, "arrival")
	gauge(m.rates, o.Queue.CompletionRate, m.fleet, "completion")
	gauge(m.processing, o.Queue.ProcessingTime.Seconds(), m.fleet)
}

// target is the backlog per worker the decision's policies aimed for: the
// first proposal that names one.
func target(d autoscale.Decision) float64 {
	for _, p := range d.Proposals {
		if p.Target > 0 {
			return p.Target
		}
	}
	return 0
}
