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
// server registers too), the fleet's and the autoscaler's from prommetrics
// (which qscale autoscale's console shares). docs/up.md lists the series.
type metrics struct {
	*prommetrics.Collector
}

func newMetrics(reg prometheus.Registerer, e *queue.Engine, fleetQueue string, last func() (autoscale.Decision, bool)) *metrics {
	reg.MustRegister(queuemetrics.New(e))
	return &metrics{Collector: prommetrics.New(reg, prommetrics.Options{Queue: fleetQueue, Last: last})}
}

// observe counts one decision.
func (m *metrics) observe(d autoscale.Decision) { m.Observe(d) }

// target is the backlog per worker the decision's policies aimed for.
func target(d autoscale.Decision) float64 { return prommetrics.Target(d) }
