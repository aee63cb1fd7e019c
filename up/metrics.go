package up

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qscale/qscale/autoscale"
	"github.com/qscale/qscale/autoscale/prommetrics"
	"github.com/qscale/qscale/queue"
	"github.com/qscale/qscale/queue/queuemetrics"
)

// metrics is qscale up's Prometheus collector: the queues' series from
// queuemetrics (read from the engine at scrape time, the collector qscale
// server registers too), each fleet's and its autoscaler's from
// prommetrics (which qscale autoscale's console shares), labelled by
// fleet and queue. docs/up.md lists the series.
type metrics struct {
	*prommetrics.Collector
}

func newMetrics(reg prometheus.Registerer, e *queue.Engine) *metrics {
	reg.MustRegister(queuemetrics.New(e))
	return &metrics{Collector: prommetrics.New(reg, prommetrics.Options{})}
}

// add exports r's series.
func (m *metrics) add(r *fleetRun) {
	m.Add(prommetrics.Fleet{Name: r.cfg.Name, Queue: r.cfg.QueueLabel(), Last: prommetrics.LastOf(r.ctrl.Decisions),
		Paused: func() bool { p, _ := r.ctrl.Paused(); return p }})
}

// target is the backlog per worker the decision's policies aimed for.
func target(d autoscale.Decision) float64 { return prommetrics.Target(d) }
