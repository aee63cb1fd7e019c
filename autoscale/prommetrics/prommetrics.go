// Package prommetrics exports autoscalers' decisions as Prometheus series,
// one set per fleet, labelled by the fleet's name and its queue (queues
// joined by "+"): the fleet's workers, the backlog per worker and its
// target, the decisions by rule and direction. `qscale up` and `qscale
// autoscale` both register it; docs/up.md and docs/autoscaling.md list the
// series.
package prommetrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qscale/qscale/autoscale"
)

// Options say what the Collector reads.
type Options struct {
	// QueueMessages also exports qscale_queue_messages (visible, in_flight,
	// delayed) as the last observation read them: for `qscale autoscale`,
	// which has no queue engine of its own to read.
	QueueMessages bool
}

// Fleet is one autoscaled fleet the Collector reads.
type Fleet struct {
	// Name and Queue label the fleet's series (Queue: the queue's name, or
	// the names of several joined by "+").
	Name, Queue string
	// Last returns the controller's latest decision; false before the
	// first.
	Last func() (autoscale.Decision, bool)
	// Paused, when set, exports qscale_autoscale_paused.
	Paused func() bool
}

// Collector is a prometheus.Collector of autoscalers. Observe counts each
// decision; the gauges are read from each fleet's last one at scrape
// time.
type Collector struct {
	o Options

	mu     sync.Mutex // guards fleets
	fleets []Fleet

	decisions *prometheus.CounterVec
	errors    *prometheus.CounterVec

	messages, workers, backlog, target *prometheus.Desc
	to, rates, processing, paused      *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector and registers it with reg.
func New(reg prometheus.Registerer, o Options) *Collector {
	c := &Collector{
		o: o,
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qscale_autoscale_decisions_total",
			Help: "Autoscaler decisions, by the rule that decided and the direction (out, in, hold).",
		}, []string{"fleet", "rule", "direction"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qscale_autoscale_errors_total",
			Help: "Autoscaler ticks that ended with an error, by rule (observe-error, fleet-error, backoff, or the rule whose change failed).",
		}, []string{"fleet", "rule"}),
		messages: prometheus.NewDesc("qscale_queue_messages",
			"Messages in a queue by state: visible, in_flight, delayed (SQS's ApproximateNumberOfMessages*).",
			[]string{"fleet", "queue", "state"}, nil),
		workers: prometheus.NewDesc("qscale_fleet_workers",
			"Workers of the fleet: desired, running, starting.", []string{"fleet", "queue", "state"}, nil),
		backlog: prometheus.NewDesc("qscale_autoscale_backlog_per_worker",
			"Visible messages per running worker, as the autoscaler last read it.", []string{"fleet", "queue"}, nil),
		target: prometheus.NewDesc("qscale_autoscale_backlog_per_worker_target",
			"The backlog per worker the policies aim for.", []string{"fleet", "queue"}, nil),
		to: prometheus.NewDesc("qscale_autoscale_decided_workers",
			"The desired worker count the last decision chose.", []string{"fleet", "queue"}, nil),
		rates: prometheus.NewDesc("qscale_queue_rate_per_second",
			"Messages per second over the autoscaler's window: arrival (sent) and completion (deleted).", []string{"fleet", "queue", "kind"}, nil),
		processing: prometheus.NewDesc("qscale_queue_processing_seconds",
			"Mean time a message spends in flight before its delete (Little's law over the autoscaler's window).", []string{"fleet", "queue"}, nil),
		paused: prometheus.NewDesc("qscale_autoscale_paused",
			"1 while the autoscaler is paused (it observes and decides but changes nothing).", []string{"fleet", "queue"}, nil),
	}
	reg.MustRegister(c, c.decisions, c.errors)
	return c
}

// Add exports f's series from now on.
func (c *Collector) Add(f Fleet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fleets = append(c.fleets, f)
}

// Observe counts one decision of the named fleet.
func (c *Collector) Observe(fleet string, d autoscale.Decision) {
	dir := "hold"
	switch {
	case !d.Applied:
	case d.To > d.From:
		dir = "out"
	case d.To < d.From:
		dir = "in"
	}
	c.decisions.WithLabelValues(fleet, d.Rule, dir).Inc()
	if d.Error != "" {
		c.errors.WithLabelValues(fleet, d.Rule).Inc()
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.workers, c.backlog, c.target, c.to, c.rates, c.processing, c.paused} {
		ch <- d
	}
	if c.o.QueueMessages {
		ch <- c.messages
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	fleets := append([]Fleet(nil), c.fleets...)
	c.mu.Unlock()
	for _, f := range fleets {
		c.collect(ch, f)
	}
}

func (c *Collector) collect(ch chan<- prometheus.Metric, f Fleet) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{f.Name, f.Queue}, labels...)...)
	}
	if f.Paused != nil {
		v := 0.0
		if f.Paused() {
			v = 1
		}
		gauge(c.paused, v)
	}
	d, ok := f.Last()
	if !ok {
		return
	}
	o := d.Observation
	if c.o.QueueMessages {
		gauge(c.messages, float64(o.Queue.Visible), "visible")
		gauge(c.messages, float64(o.Queue.InFlight), "in_flight")
		gauge(c.messages, float64(o.Queue.Delayed), "delayed")
	}
	gauge(c.workers, float64(o.Fleet.Desired), "desired")
	gauge(c.workers, float64(o.Fleet.Running), "running")
	gauge(c.workers, float64(o.Fleet.Starting), "starting")
	gauge(c.backlog, o.BacklogPerWorker)
	if t := Target(d); t > 0 {
		gauge(c.target, t)
	}
	gauge(c.to, float64(d.To))
	gauge(c.rates, o.Queue.ArrivalRate, "arrival")
	gauge(c.rates, o.Queue.CompletionRate, "completion")
	gauge(c.processing, o.Queue.ProcessingTime.Seconds())
}

// Target is the backlog per worker the decision's policies aimed for: the
// first proposal that names one; 0 when none does.
func Target(d autoscale.Decision) float64 {
	for _, p := range d.Proposals {
		if p.Target > 0 {
			return p.Target
		}
	}
	return 0
}

// LastOf returns a Last function over a controller's decisions.
func LastOf(decisions func(n int) []autoscale.Decision) func() (autoscale.Decision, bool) {
	return func() (autoscale.Decision, bool) {
		ds := decisions(1)
		if len(ds) == 0 {
			return autoscale.Decision{}, false
		}
		return ds[0], true
	}
}
